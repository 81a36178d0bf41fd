/**
 * Pure decisions about who is calling: the caller's pod from its cgroup, and whether the kubelet's
 * pod-resources list shows that slot allocated to a pod's container.
 */

/** The pod a process belongs to, as its cgroup path names it. */
export interface CgroupPod {
  /** The pod's UID (dashes, as the API shows it). */
  podUid: string;
  /** The container's runtime ID, when the path names one. */
  containerId?: string;
}

// cgroupfs driver: /kubepods/<qos>/pod<uid>/<id>; systemd driver:
// /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
const POD_SEGMENT =
  /^(?:kubepods(?:-[a-z]+)*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const CONTAINER_SEGMENT = /^(?:[a-z-]+-)?([0-9a-f]{64})(?:\.scope)?$/;

/**
 * The pod of a process from the text of `/proc/<pid>/cgroup` (v1 or v2, either cgroup driver), or
 * undefined when no line places it below a kubepods hierarchy (a host process, not a pod's container).
 * Every line that names a pod must name the same one.
 */
export function podOfCgroup(text: string): CgroupPod | undefined {
  const found: CgroupPod[] = [];
  for (const line of text.split("\n")) {
    const path = line.split(":").slice(2).join(":");
    const segments = path.split("/").filter(Boolean);
    if (!segments.some((s) => s.startsWith("kubepods"))) continue;
    const podAt = segments.findIndex((s) => POD_SEGMENT.test(s));
    if (podAt < 0) continue;
    const podUid = POD_SEGMENT.exec(segments[podAt]!)![1]!.replaceAll("_", "-");
    const container = segments[podAt + 1] ? CONTAINER_SEGMENT.exec(segments[podAt + 1]!)?.[1] : undefined;
    found.push({ podUid, ...(container ? { containerId: container } : {}) });
  }
  if (found.length === 0) return undefined;
  if (found.some((f) => f.podUid !== found[0]!.podUid)) return undefined;
  return found.find((f) => f.containerId) ?? found[0];
}

/** The kubelet's List answer, as the node agent reads it (field names as in the proto). */
export interface PodResourcesList {
  pod_resources: {
    name: string;
    namespace: string;
    containers: { name: string; devices: { resource_name: string; device_ids: string[] }[] }[];
  }[];
}

/** A container the kubelet allocated a device to. */
export interface DeviceHolder {
  namespace: string;
  pod: string;
  container: string;
}

/**
 * Which containers the kubelet has allocated `deviceId` of `resourceName` to. A slot is handed to one
 * container at a time; more than one holder means the list cannot be trusted to name the caller.
 */
export function holdersOf(list: PodResourcesList, resourceName: string, deviceId: string): DeviceHolder[] {
  return list.pod_resources.flatMap((p) =>
    p.containers
      .filter((c) =>
        c.devices.some((d) => d.resource_name === resourceName && d.device_ids.includes(deviceId)),
      )
      .map((c) => ({ namespace: p.namespace, pod: p.name, container: c.name })),
  );
}
