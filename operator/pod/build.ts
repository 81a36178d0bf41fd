/** `buildLauncherPod`: the launcher pod of a VM, as a pure function of the VM and cluster settings. */
import type { V1Container, V1ObjectMeta, V1Pod, V1PodSecurityContext } from "@kubernetes/client-node";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import {
  ANNOTATION_LAUNCHER_CONFIG,
  ANNOTATION_RESTARTED_AT,
  ANNOTATION_SPEC_HASH,
  ANNOTATION_START_FAILURES,
  COMPONENT,
  LABEL_VM,
  LAUNCHER_GID,
  launcherPodName,
  VM_TYPE,
} from "../../crds/contract/index.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { launcherConfigOf } from "../../crds/launcher/from-vm.ts";
import { resolveVm, type ResolvedVm } from "../../crds/launcher/resolve.ts";
import { configVolume, launcherContainer, netsetupContainer } from "./containers.ts";
import { multusPlumbing } from "./multus.ts";
import { guaranteedInitResources } from "./resources.ts";
import type { PodInputs, PodSettings } from "./settings.ts";
import { launcherSpecHash } from "./spec-hash.ts";
import { stateClaimPlumbing } from "./state-claim.ts";
import { diskPlumbing } from "./volumes.ts";
import { ephemeralStorage, mebibytes } from "./ephemeral-storage.ts";

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
  const { claims, ...settings } = inputs;
  const r = resolveVm(vm, { defaultBinding: inputs.defaultBinding, ...(claims ? { claims } : {}) });
  return launcherPodOf(r, settings);
}

/**
 * The launcher pod of a resolved VM (see {@link buildLauncherPod}); its config is the other projection.
 * With `networkSetup: "node"` the node agent (deviceplugin/netsetup) plumbs the taps instead of the
 * `netsetup` init container, so every binding's pod passes Pod Security `restricted`; the launcher then
 * reads Multus' network-status itself, to send it along.
 */
export function launcherPodOf(r: ResolvedVm, settings: PodSettings): V1Pod {
  const pod = podWithInitNetsetup(r, settings);
  if (settings.networkSetup !== "node" || !r.needsTap) return pod;
  const spec = pod.spec!;
  const inits = (spec.initContainers ?? []).filter((c) => c.name !== "netsetup");
  const { netsetupMounts } = multusPlumbing(launcherConfigOf(r, { allowEmulation: settings.emulation }));
  const containers = spec.containers.map((c) =>
    c.name === "launcher" && netsetupMounts.length
      ? { ...c, volumeMounts: [...(c.volumeMounts ?? []), ...netsetupMounts] }
      : c,
  );
  const { initContainers: _dropped, ...rest } = spec;
  return { ...pod, spec: { ...rest, ...(inits.length ? { initContainers: inits } : {}), containers } };
}

function podWithInitNetsetup(r: ResolvedVm, settings: PodSettings): V1Pod {
  const spec = r.vm.spec;
  const config = launcherConfigOf(r, { allowEmulation: settings.emulation });
  const image = { image: settings.launcherImage, imagePullPolicy: settings.imagePullPolicy };
  const disks = diskPlumbing(r, config, {
    image: settings.launcherImage,
    pullPolicy: settings.imagePullPolicy,
  });
  const multus = multusPlumbing(config);
  const stateClaim = stateClaimPlumbing(r.vm, config);
  const hp = config.memory.hugepages;
  const netsetup = netsetupContainer(config, image, multus.netsetupMounts);
  const launcher = launcherContainer(r, config, settings, {
    mounts: [...disks.launcherMounts, ...stateClaim.launcherMounts],
    devices: disks.launcherDevices,
  });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: podMetadata(r, config, settings, multus.annotations),
    spec: {
      hostname: r.name,
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds + TERMINATION_GRACE_MARGIN_SECONDS,
      securityContext: podSecurityContext(config),
      ...(settings.imagePullSecrets?.length
        ? { imagePullSecrets: settings.imagePullSecrets.map((n) => ({ name: n })) }
        : {}),
      ...(r.needsTap || disks.initContainers.length
        ? { initContainers: guaranteedIf(r, [...(r.needsTap ? [netsetup] : []), ...disks.initContainers]) }
        : {}),
      containers: [launcher],
      volumes: [
        { name: "run", emptyDir: {} },
        { name: "state", emptyDir: { sizeLimit: mebibytes(ephemeralStorage(r).stateBytes) } },
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

/** With dedicated CPUs every container must be Guaranteed for the pod to be (the launcher's already is). */
function guaranteedIf(r: ResolvedVm, inits: V1Container[]): V1Container[] {
  if (!r.sizing.dedicatedCpus) return inits;
  return inits.map((c) => ({ ...c, resources: guaranteedInitResources(c.resources) }));
}

/** The pod's name, labels, annotations (spec hash, config, start failures, restart request) and owner. */
function podMetadata(
  r: ResolvedVm,
  config: LauncherConfig,
  settings: PodSettings,
  multusAnnotations: Record<string, string>,
): V1ObjectMeta {
  const restartedAt = r.vm.metadata.annotations?.[ANNOTATION_RESTARTED_AT];
  return {
    name: launcherPodName(r.name),
    namespace: r.namespace,
    labels: launcherPodLabels(r.name),
    annotations: {
      [ANNOTATION_SPEC_HASH]: launcherSpecHash(r.vm.spec),
      [ANNOTATION_LAUNCHER_CONFIG]: JSON.stringify(config),
      [ANNOTATION_START_FAILURES]: String(settings.startFailures ?? 0),
      ...(restartedAt !== undefined ? { [ANNOTATION_RESTARTED_AT]: restartedAt } : {}),
      ...multusAnnotations,
    },
    ownerReferences: [{ ...VM_TYPE, name: r.name, uid: r.uid, controller: true, blockOwnerDeletion: true }],
  };
}

/** Pod-wide security: seccomp, the launcher's fsGroup, and the lowest port it must bind unprivileged. */
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
