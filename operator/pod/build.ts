/** `buildLauncherPod`: the launcher pod of a VM, as a pure function of the VM and cluster settings. */
import type {
  V1Container,
  V1ContainerPort,
  V1Pod,
  V1PodSecurityContext,
  V1Volume,
} from "@kubernetes/client-node";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import { type LauncherConfig } from "../../crds/launcher/config.ts";
import {
  ANNOTATION_LAUNCHER_CONFIG,
  LAUNCHER_CONFIG_DIR,
  LAUNCHER_CONFIG_FILE,
  LAUNCHER_GID,
  LAUNCHER_HTTP_PORT,
  ANNOTATION_RESTARTED_AT,
  ANNOTATION_SPEC_HASH,
  ANNOTATION_START_FAILURES,
  COMPONENT,
  LABEL_VM,
  LAUNCHER_CONTAINER,
  launcherPodName,
  NETSETUP_CONTAINER,
  VM_TYPE,
  DEVICE_RESOURCES,
} from "../../crds/contract/index.ts";
import { launcherConfigFromVm, type ClaimFacts } from "../../crds/launcher/from-vm.ts";
import { multusPlumbing } from "./multus.ts";
import { launcherProbes } from "./probes.ts";
import { initContainerResources, launcherResources } from "./resources.ts";
import { launcherSpecHash } from "./spec-hash.ts";
import { stateClaimPlumbing } from "./state-claim.ts";
import { diskPlumbing, unprivileged } from "./volumes.ts";

/** Cluster settings and looked-up facts that shape the pod besides the VM itself. */
export interface PodInputs {
  /** The launcher image (also runs netsetup and provides busybox for the copy containers). */
  launcherImage: string;
  /** Pull policy of the launcher image. */
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** TCG allowed and /dev/kvm not requested. */
  emulation: boolean;
  /** Binding of pod-network NICs that do not name one. */
  defaultBinding: "bridge" | "masquerade" | "passt";
  /** Image pull Secrets (names in the VM's namespace) for the launcher image. */
  imagePullSecrets?: readonly string[];
  /** Replaces the fixed part of the memory overhead, in bytes. */
  memoryOverheadBaseBytes?: number;
  /** The VM's PVCs by claim name (volumeMode decides volume vs volumeDevice). */
  claims?: Record<string, ClaimFacts>;
  /** Consecutive quick failures before this pod (crash-loop back-off), recorded on the pod. */
  startFailures?: number;
}

/**
 * Seconds the kubelet waits beyond the guest's own grace period before it kills the launcher: time for the
 * launcher to quit QEMU after the guest's deadline, flush disks and write its termination message.
 */
export const TERMINATION_GRACE_MARGIN_SECONDS = 15;

/** The DHCP server port the launcher's in-process DHCP server binds as its (non-root) user. */
const DHCP_PORT = 67;

/** Labels every launcher pod carries; `vireo.dev/vm` is what the operator's pod informer selects on. */
export function launcherPodLabels(vmName: string): Record<string, string> {
  return {
    [LABEL_VM]: vmName,
    "app.kubernetes.io/name": "vireo-launcher",
    "app.kubernetes.io/instance": vmName,
    "app.kubernetes.io/component": "launcher",
    "app.kubernetes.io/part-of": "vireo",
    "app.kubernetes.io/managed-by": COMPONENT,
  };
}

/**
 * The launcher pod for `vm`: a `netsetup` init container with only NET_ADMIN (only when a NIC needs a tap:
 * passt-only and NIC-less VMs have nothing privileged to set up, and the launcher plans passt from what the
 * pod shows), copy init containers for containerDisks and kernels, and the non-root `launcher` container
 * with no capabilities and a read-only root. The launcher config travels as a pod annotation shown to both
 * as a file (a downward API volume). Pure: same VM and inputs, same pod (golden-file tested).
 */
export function buildLauncherPod(vm: VirtualMachine, inputs: PodInputs): V1Pod {
  const name = vm.metadata.name ?? "";
  const namespace = vm.metadata.namespace ?? "default";
  const spec = vm.spec;
  const config = launcherConfigFromVm(vm, {
    allowEmulation: inputs.emulation,
    defaultBinding: inputs.defaultBinding,
    ...(inputs.claims ? { claims: inputs.claims } : {}),
  });
  const image = { image: inputs.launcherImage, imagePullPolicy: inputs.imagePullPolicy };
  const configMount = { name: CONFIG_VOLUME, mountPath: LAUNCHER_CONFIG_DIR, readOnly: true };
  const disks = diskPlumbing(vm, config, { image: inputs.launcherImage, pullPolicy: inputs.imagePullPolicy });
  const multus = multusPlumbing(config);
  const stateClaim = stateClaimPlumbing(vm, config);
  const needsTap = config.interfaces.some((i) => i.binding !== "passt");
  const tapDevices: Record<string, string> = needsTap ? { [DEVICE_RESOURCES.tun]: "1" } : {};
  const baseMounts = [
    { name: "run", mountPath: config.paths.runDir },
    { name: "state", mountPath: config.paths.stateDir },
  ];

  const netsetup: V1Container = {
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
    resources: initContainerResources(tapDevices),
    volumeMounts: [{ name: "run", mountPath: config.paths.runDir }, configMount, ...multus.netsetupMounts],
  };

  const hp = config.memory.hugepages;
  const launcher: V1Container = {
    name: LAUNCHER_CONTAINER,
    ...image,
    command: ["vireo-launcher", "--config", LAUNCHER_CONFIG_FILE],
    ports: containerPorts(config),
    securityContext: unprivileged(),
    resources: launcherResources(spec, {
      emulation: inputs.emulation,
      needsTap,
      ...(inputs.memoryOverheadBaseBytes !== undefined
        ? { overheadBaseBytes: inputs.memoryOverheadBaseBytes }
        : {}),
    }),
    ...launcherProbes(spec),
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [
      ...baseMounts,
      configMount,
      { name: "tmp", mountPath: "/tmp" },
      ...(hp ? [{ name: "hugepages", mountPath: hp.mountPath }] : []),
      ...disks.launcherMounts,
      ...stateClaim.launcherMounts,
    ],
    ...(disks.launcherDevices.length ? { volumeDevices: disks.launcherDevices } : {}),
  };

  const restartedAt = vm.metadata.annotations?.[ANNOTATION_RESTARTED_AT];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: launcherPodName(name),
      namespace,
      labels: launcherPodLabels(name),
      annotations: {
        [ANNOTATION_SPEC_HASH]: launcherSpecHash(spec),
        [ANNOTATION_LAUNCHER_CONFIG]: JSON.stringify(config),
        [ANNOTATION_START_FAILURES]: String(inputs.startFailures ?? 0),
        ...(restartedAt !== undefined ? { [ANNOTATION_RESTARTED_AT]: restartedAt } : {}),
        ...multus.annotations,
      },
      ownerReferences: [
        {
          ...VM_TYPE,
          name,
          uid: vm.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      hostname: name,
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds + TERMINATION_GRACE_MARGIN_SECONDS,
      securityContext: podSecurityContext(config),
      ...(inputs.imagePullSecrets?.length
        ? { imagePullSecrets: inputs.imagePullSecrets.map((n) => ({ name: n })) }
        : {}),
      ...(needsTap || disks.initContainers.length
        ? { initContainers: [...(needsTap ? [netsetup] : []), ...disks.initContainers] }
        : {}),
      containers: [launcher],
      volumes: [
        { name: "run", emptyDir: {} },
        { name: "state", emptyDir: {} },
        { name: "tmp", emptyDir: {} },
        configVolume(),
        ...(hp ? [{ name: "hugepages", emptyDir: { medium: `HugePages-${hp.pageSize}` } }] : []),
        ...disks.volumes,
        ...stateClaim.volumes,
        ...multus.volumes,
      ],
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.affinity ? { affinity: spec.affinity } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
      ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
    },
  };
}

const CONFIG_VOLUME = "launcher-config";

/** The downward API volume that shows the config annotation as {@link LAUNCHER_CONFIG_FILE}. */
function configVolume(): V1Volume {
  const path = LAUNCHER_CONFIG_FILE.slice(LAUNCHER_CONFIG_DIR.length + 1);
  return {
    name: CONFIG_VOLUME,
    downwardAPI: {
      items: [{ path, fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION_LAUNCHER_CONFIG}']` } }],
    },
  };
}

function podSecurityContext(config: LauncherConfig): V1PodSecurityContext {
  // The in-process DHCP server and passt (forwarded ports) bind low ports as the launcher's user; the pod's own network
  // namespace may lower the privileged-port floor, a "safe" sysctl every kubelet allows.
  const low = config.interfaces.flatMap((i) =>
    i.binding === "passt" ? i.ports.map((p) => p.port).filter((p) => p < 1024) : [DHCP_PORT],
  );
  return {
    seccompProfile: { type: "RuntimeDefault" },
    // Volumes (PVCs, emptyDirs) become group-writable for the launcher's group.
    fsGroup: LAUNCHER_GID,
    fsGroupChangePolicy: "OnRootMismatch",
    ...(low.length
      ? { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: String(Math.min(...low)) }] }
      : {}),
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
