/**
 * Whether a VM can live-migrate, decided from its spec and the claims it uses — before anyone tries, as the
 * VM's `Migratable` condition. Pure. What is refused and why is docs/migration.md's "What is refused".
 */
import type { VmSpec } from "../../crds/api/spec.ts";

/** What the operator knows about a claim a VM uses (from the PVC cache). */
export interface ClaimFacts {
  accessModes: string[];
  volumeMode?: string | undefined;
}

/** The `Migratable` condition's content. */
export interface Migratability {
  status: "True" | "False";
  /** CamelCase, as condition reasons are. */
  reason:
    "Migratable" | "LocalDisk" | "DiskNotShared" | "ClaimUnknown" | "BridgeOnPodNetwork" | "PersistentState";
  message: string;
}

/** Volume kinds the target pod recreates with the same content (read-only, generated from the spec). */
const RECREATED = ["cloudInitNoCloud", "configMap", "secret"] as const;

/**
 * Decides the `Migratable` condition. Refused: containerDisk and emptyDisk volumes (the data lives in the
 * source pod; block migration is not built yet), claims that are not ReadWriteMany (the target node could
 * not attach them while the source holds them), the bridge binding on the pod network (the guest holds the
 * pod IP, which stays with the source pod), and persistent UEFI variables or TPM state (their RWO state
 * claim). `claimOf` answers for a claim name; undefined = not in the cache (yet).
 */
export function migratability(
  spec: Pick<VmSpec, "volumes" | "interfaces" | "networks" | "firmware" | "devices">,
  claimOf: (name: string) => ClaimFacts | undefined,
  defaultBinding: string,
): Migratability {
  const no = (reason: Migratability["reason"], message: string): Migratability => ({
    status: "False",
    reason,
    message,
  });
  for (const v of spec.volumes) {
    if (v.containerDisk || v.emptyDisk)
      return no(
        "LocalDisk",
        `volume ${v.name} is a ${v.containerDisk ? "containerDisk" : "emptyDisk"}: its data lives in the pod (block migration is not supported yet)`,
      );
    if (RECREATED.some((k) => v[k] !== undefined)) continue;
    const claim = v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;
    if (claim === undefined) continue;
    const facts = claimOf(claim);
    if (!facts) return no("ClaimUnknown", `claim ${claim} (volume ${v.name}) is not known yet`);
    if (!facts.accessModes.includes("ReadWriteMany"))
      return no(
        "DiskNotShared",
        `claim ${claim} (volume ${v.name}) is ${facts.accessModes.join(",") || "without access modes"}: live migration needs ReadWriteMany`,
      );
  }
  const podNetworks = new Set(spec.networks.filter((n) => n.pod !== undefined).map((n) => n.name));
  for (const i of spec.interfaces)
    if (podNetworks.has(i.name) && (i.binding ?? defaultBinding) === "bridge")
      return no(
        "BridgeOnPodNetwork",
        `interface ${i.name} uses the bridge binding on the pod network: the guest holds the pod IP, which cannot move (use masquerade or passt)`,
      );
  if (spec.firmware.uefi?.persistent)
    return no("PersistentState", "persistent UEFI variables live on a ReadWriteOnce state claim");
  if (spec.devices.tpm?.persistent)
    return no("PersistentState", "persistent TPM state lives on a ReadWriteOnce state claim");
  return { status: "True", reason: "Migratable", message: "all disks are shared and the network can move" };
}
