/**
 * How a VM meets its DataVolumes, pure: the DataVolumes its `dataVolumeTemplates` create (owned by the VM),
 * its `dataVolume` volumes turned into the claims they are (with the declared disk format), and whether its
 * disks are ready — a VM starts only once every DataVolume it boots from has Succeeded, so it never opens a
 * half-written disk.
 */
import type { DataVolume } from "../../crds/api/datavolume.ts";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import { VM_TYPE } from "../../crds/contract/index.ts";
import { DV_TYPE } from "./names.ts";

/** What the operator knows of one DataVolume a VM names. */
export type DataVolumeFacts =
  | { found: false }
  | {
      found: true;
      uid: string;
      phase?: string;
      progress?: string;
      format: "raw" | "qcow2";
      /** The Ready condition's reason and message (why it is not ready, or what was imported). */
      reason?: string;
      message?: string;
      ownerUid?: string;
    };

/** What the VM reconciler needs of the DataVolume controller (a port, so neither imports the other). */
export interface DataVolumeLookup {
  /** What the cache shows of DataVolume `name`. */
  facts(namespace: string, name: string): DataVolumeFacts;
  /** Creates a DataVolume (a VM's template); 409 when it exists. */
  create(dv: DataVolume): Promise<unknown>;
}

/** DataVolume names a VM spec refers to: its `dataVolume` volumes and its templates. Tolerates any input. */
export function dataVolumeNamesOf(spec: unknown): string[] {
  const s = spec as {
    volumes?: { dataVolume?: { name?: unknown } }[];
    dataVolumeTemplates?: { metadata?: { name?: unknown } }[];
  };
  const names = new Set<string>();
  for (const v of Array.isArray(s?.volumes) ? s.volumes : [])
    if (typeof v?.dataVolume?.name === "string") names.add(v.dataVolume.name);
  for (const t of Array.isArray(s?.dataVolumeTemplates) ? s.dataVolumeTemplates : [])
    if (typeof t?.metadata?.name === "string") names.add(t.metadata.name);
  return [...names];
}

/** The DataVolumes of the VM's templates that do not exist yet, controlled by the VM (deleted with it). */
export function templateDataVolumes(
  vm: VirtualMachine,
  facts: Record<string, DataVolumeFacts>,
): DataVolume[] {
  const name = vm.metadata.name ?? "";
  return (vm.spec.dataVolumeTemplates ?? [])
    .filter((t) => facts[t.metadata.name]?.found !== true)
    .map((t) => ({
      ...DV_TYPE,
      metadata: {
        name: t.metadata.name,
        namespace: vm.metadata.namespace ?? "default",
        labels: { ...t.metadata.labels, "vireo.dev/vm": name },
        ...(t.metadata.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [
          { ...VM_TYPE, name, uid: vm.metadata.uid ?? "", controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: t.spec,
    }));
}

/**
 * The VM with each `dataVolume` volume replaced by the claim it stands for (a DataVolume's claim has its
 * name), carrying the DataVolume's declared format; the launcher and the pod builder then see plain claims.
 */
export function withDataVolumeClaims(
  vm: VirtualMachine,
  facts: Record<string, DataVolumeFacts>,
): VirtualMachine {
  if (!vm.spec.volumes.some((v) => v.dataVolume)) return vm;
  const volumes = vm.spec.volumes.map((v) => {
    if (!v.dataVolume) return v;
    const f = facts[v.dataVolume.name];
    const format = f?.found ? f.format : "raw";
    return {
      name: v.name,
      persistentVolumeClaim: {
        claimName: v.dataVolume.name,
        readOnly: false,
        ...(format !== "raw" ? { format } : {}),
      },
    };
  });
  return { ...vm, spec: { ...vm.spec, volumes } };
}

/** Why a VM cannot start yet because of its DataVolumes; undefined when all it boots from have Succeeded. */
export interface DiskWait {
  printable: "Provisioning" | "WaitingForVolumeBinding" | "DataVolumeError";
  reason: string;
  message: string;
  /** A DataVolume failed for good: a fix is needed (Failure, Stalled), not patience. */
  failed: boolean;
}

/** Judges the DataVolumes a VM names (its `dataVolume` volumes and its templates, as {@link dataVolumeNamesOf}). */
export function dataVolumeWait(facts: Record<string, DataVolumeFacts>): DiskWait | undefined {
  const names = Object.keys(facts).sort();
  for (const dv of names) {
    const f = facts[dv];
    if (!f?.found)
      return {
        printable: "Provisioning",
        reason: "DataVolumeNotFound",
        message: `waiting for DataVolume ${dv} to exist`,
        failed: false,
      };
    if (f.phase === "Failed")
      return {
        printable: "DataVolumeError",
        reason: "DataVolumeFailed",
        message: `DataVolume ${dv} failed: ${f.reason ?? "Failed"}: ${f.message ?? ""}`.trim(),
        failed: true,
      };
  }
  for (const dv of names) {
    const f = facts[dv] as Extract<DataVolumeFacts, { found: true }>;
    if (f.phase === "Succeeded") continue;
    if (!f.phase || f.phase === "Pending")
      return {
        printable: "WaitingForVolumeBinding",
        reason: "DataVolumePending",
        message: `waiting for DataVolume ${dv}'s claim`,
        failed: false,
      };
    return {
      printable: "Provisioning",
      reason: "DataVolumeImporting",
      message: `DataVolume ${dv} is ${f.phase}${f.progress && f.progress !== "N/A" ? ` (${f.progress})` : ""}`,
      failed: false,
    };
  }
  return undefined;
}
