/** The pod's two kinds of own containers — `netsetup` and `launcher` — and the config volume both read. */
import type {
  V1Container,
  V1ContainerPort,
  V1Volume,
  V1VolumeDevice,
  V1VolumeMount,
} from "@kubernetes/client-node";
import {
  ANNOTATION_LAUNCHER_CONFIG,
  DEVICE_RESOURCES,
  LAUNCHER_CONFIG_DIR,
  LAUNCHER_CONFIG_FILE,
  LAUNCHER_CONTAINER,
  LAUNCHER_HTTP_PORT,
  NETSETUP_CONTAINER,
} from "../../crds/contract/index.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { ResolvedVm } from "../../crds/launcher/resolve.ts";
import type { PodSettings } from "./settings.ts";
import { launcherProbes } from "./probes.ts";
import { initContainerResources, launcherResources } from "./resources.ts";
import { ephemeralStorage } from "./ephemeral-storage.ts";
import { unprivileged } from "./volumes.ts";

const CONFIG_VOLUME = "launcher-config";
const configMount = { name: CONFIG_VOLUME, mountPath: LAUNCHER_CONFIG_DIR, readOnly: true };

/** The downward API volume that shows the config annotation as {@link LAUNCHER_CONFIG_FILE}. */
export function configVolume(): V1Volume {
  const path = LAUNCHER_CONFIG_FILE.slice(LAUNCHER_CONFIG_DIR.length + 1);
  return {
    name: CONFIG_VOLUME,
    downwardAPI: {
      items: [{ path, fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION_LAUNCHER_CONFIG}']` } }],
    },
  };
}

/** The init container that plumbs the pod network for the guest (taps, bridges, NAT). */
export function netsetupContainer(
  config: LauncherConfig,
  image: Pick<V1Container, "image" | "imagePullPolicy">,
  extraMounts: V1VolumeMount[],
): V1Container {
  return {
    name: NETSETUP_CONTAINER,
    ...image,
    command: ["vireo-launcher", "netsetup", "--config", LAUNCHER_CONFIG_FILE],
    // Root, because capabilities of a non-root container never reach its effective set without ambient
    // capabilities, which Kubernetes does not offer; NET_ADMIN alone covers links, addresses, routes, taps
    // and nftables. NET_RAW is not needed: nothing here opens raw or packet sockets.
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] },
    },
    resources: initContainerResources({ [DEVICE_RESOURCES.tun]: "1" }),
    volumeMounts: [{ name: "run", mountPath: config.paths.runDir }, configMount, ...extraMounts],
  };
}

/** The unprivileged launcher container: QEMU's supervisor, with the VM's disks and devices. */
export function launcherContainer(
  r: ResolvedVm,
  config: LauncherConfig,
  settings: PodSettings,
  storage: { mounts: V1VolumeMount[]; devices: V1VolumeDevice[] },
): V1Container {
  const hp = config.memory.hugepages;
  return {
    name: LAUNCHER_CONTAINER,
    image: settings.launcherImage,
    imagePullPolicy: settings.imagePullPolicy,
    command: ["vireo-launcher", "--config", LAUNCHER_CONFIG_FILE],
    ports: containerPorts(config),
    securityContext: unprivileged(),
    resources: launcherResources(r.sizing, {
      emulation: settings.emulation,
      needsTap: r.needsTap,
      ...(settings.memoryOverheadBaseBytes !== undefined
        ? { overheadBaseBytes: settings.memoryOverheadBaseBytes }
        : {}),
      ephemeralBytes: ephemeralStorage(r).totalBytes,
    }),
    ...launcherProbes(r.vm.spec),
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      { name: "run", mountPath: config.paths.runDir },
      { name: "state", mountPath: config.paths.stateDir },
      configMount,
      { name: "tmp", mountPath: "/tmp" },
      ...(hp ? [{ name: "hugepages", mountPath: hp.mountPath }] : []),
      ...storage.mounts,
    ],
    ...(storage.devices.length ? { volumeDevices: storage.devices } : {}),
  };
}

function containerPorts(config: LauncherConfig): V1ContainerPort[] {
  const ports: V1ContainerPort[] = [
    { name: "vireo-http", containerPort: LAUNCHER_HTTP_PORT, protocol: "TCP" },
  ];
  // Forwarded guest ports, for `kubectl describe` and Services by port name; the launcher refuses to
  // forward its own port, so skipping it here keeps the pod valid and the error the launcher's.
  for (const iface of config.interfaces)
    for (const p of iface.ports)
      if (p.port !== LAUNCHER_HTTP_PORT && p.name !== "vireo-http")
        ports.push({ ...(p.name ? { name: p.name } : {}), containerPort: p.port, protocol: p.protocol });
  return ports;
}
