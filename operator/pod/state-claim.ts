/** `buildStateClaim`: the per-VM state claim (persistent UEFI variables, TPM state), as a pure function of the VM. */
import type { V1PersistentVolumeClaim, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { stateClaimDir, COMPONENT, LABEL_VM, stateClaimName, VM_TYPE } from "../../crds/contract/index.ts";

/**
 * Requested size of the state claim. What it holds is small: Debian's 4 MiB OVMF variable store is 528 KiB
 * (540,672 bytes), a swtpm state a few dozen KiB, and a filesystem on a tiny volume needs its own metadata
 * (ext4's journal and inode tables take ~1–2 MiB, so 1Mi would not even hold the store). 10Mi, as KubeVirt's
 * backend storage asks, leaves room for both with their copies. Provisioners round a request up to the
 * smallest volume they make (EBS and Azure Disk 1 GiB, GCE PD 10 GiB, Ceph RBD and local-path as asked), and
 * a larger PV binds a smaller request, so asking small is accepted everywhere and wastes nothing we control.
 */
export const STATE_CLAIM_SIZE = "10Mi";

/** Does this VM keep state in a claim? (Persistent UEFI variables, a persistent TPM.) */
export function needsStateClaim(vm: Pick<VirtualMachine, "spec">): boolean {
  return vm.spec.firmware.uefi?.persistent === true || vm.spec.devices.tpm?.persistent === true;
}

/** Labels of the state claim: the VM's name (as on its pods) and the part it plays. */
export function stateClaimLabels(vmName: string): Record<string, string> {
  return {
    [LABEL_VM]: vmName,
    "app.kubernetes.io/name": "vireo-state",
    "app.kubernetes.io/instance": vmName,
    "app.kubernetes.io/component": "vm-state",
    "app.kubernetes.io/part-of": "vireo",
    "app.kubernetes.io/managed-by": COMPONENT,
  };
}

/**
 * The state claim of `vm`: ReadWriteOnce, Filesystem, {@link STATE_CLAIM_SIZE}, in `spec.stateStorage`'s
 * StorageClass or the cluster default (no `storageClassName` at all, so the DefaultStorageClass admission
 * plugin fills it in; an empty string would mean "no class"). Controlled by the VM, so the garbage collector
 * deletes it with the VM where one runs; the operator deletes it itself before it drops its finalizer.
 */
export function buildStateClaim(vm: VirtualMachine): V1PersistentVolumeClaim {
  const name = vm.metadata.name ?? "";
  const storageClassName = vm.spec.stateStorage?.storageClassName;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: stateClaimName(name),
      namespace: vm.metadata.namespace ?? "default",
      labels: stateClaimLabels(name),
      ownerReferences: [
        { ...VM_TYPE, name, uid: vm.metadata.uid ?? "", controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      volumeMode: "Filesystem",
      resources: { requests: { storage: STATE_CLAIM_SIZE } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  };
}

/** Pod volume name of the state claim. */
export const STATE_CLAIM_VOLUME = "vm-state";

/**
 * What the state claim adds to the launcher pod: the claim as a volume, mounted where the launcher config
 * keeps the persistent variable store (`boot.varsFile`'s directory) and the persistent TPM's state
 * (`tpm.stateDir`'s parent). Nothing for a VM without either.
 */
export function stateClaimPlumbing(
  vm: VirtualMachine,
  config: LauncherConfig,
): { volumes: V1Volume[]; launcherMounts: V1VolumeMount[] } {
  const vars = config.boot.kind === "uefi" && config.boot.varsFile !== undefined;
  if (!needsStateClaim(vm) || !(vars || config.tpm?.persistent)) return { volumes: [], launcherMounts: [] };
  return {
    volumes: [
      {
        name: STATE_CLAIM_VOLUME,
        persistentVolumeClaim: { claimName: stateClaimName(vm.metadata.name ?? "") },
      },
    ],
    launcherMounts: [{ name: STATE_CLAIM_VOLUME, mountPath: stateClaimDir(config.paths) }],
  };
}
