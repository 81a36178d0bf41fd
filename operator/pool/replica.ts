/** A pool's replica as a VirtualMachine: name, labels, owner, and per-replica DataVolumes. Pure. */
import { createHash } from "node:crypto";
import {
  ANNOTATION_POOL_TEMPLATE,
  LABEL_POOL,
  LABEL_POOL_INDEX,
  POOL_KIND,
  type VirtualMachinePool,
} from "../../crds/api/pool.ts";
import { API_VERSION, KIND } from "../../crds/api/virtual-machine.ts";
import { canonicalJson } from "../pod/spec-hash.ts";

/** Replica `index` of pool `pool` is named `<pool>-<index>`. */
export const replicaName = (pool: string, index: number) => `${pool}-${index}`;

/** The index in a replica's name, or undefined when the name is not `<pool>-<n>`. */
export function replicaIndex(pool: string, name: string): number | undefined {
  const m = new RegExp(`^${pool.replace(/[.]/g, "\\.")}-(0|[1-9][0-9]{0,5})$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Hash of the template; a replica carrying another one is brought up to date. */
export function templateHash(pool: VirtualMachinePool): string {
  return createHash("sha256")
    .update(canonicalJson(pool.spec.virtualMachineTemplate))
    .digest("hex")
    .slice(0, 16);
}

type Spec = Record<string, unknown>;

/**
 * The template's spec for replica `index`: each dataVolumeTemplate's name gets `-<index>`, and the volumes
 * using it by dataVolume name follow, so replicas never share a disk.
 */
export function replicaSpec(spec: Spec, index: number): Spec {
  const dvts = spec.dataVolumeTemplates as { metadata: { name: string } }[] | undefined;
  if (!dvts?.length) return spec;
  const renamed = new Set(dvts.map((d) => d.metadata.name));
  const volumes = (spec.volumes as { dataVolume?: { name: string } }[] | undefined)?.map((v) =>
    v.dataVolume && renamed.has(v.dataVolume.name)
      ? { ...v, dataVolume: { ...v.dataVolume, name: `${v.dataVolume.name}-${index}` } }
      : v,
  );
  return {
    ...spec,
    dataVolumeTemplates: dvts.map((d) => ({
      ...d,
      metadata: { ...d.metadata, name: `${d.metadata.name}-${index}` },
    })),
    ...(volumes ? { volumes } : {}),
  };
}

/** Replica `index` as a VirtualMachine owned by the pool. */
export function buildReplica(
  pool: VirtualMachinePool,
  index: number,
  hash = templateHash(pool),
): Record<string, unknown> {
  const t = pool.spec.virtualMachineTemplate;
  const name = pool.metadata.name;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: replicaName(name, index),
      namespace: pool.metadata.namespace,
      labels: { ...t.metadata.labels, [LABEL_POOL]: name, [LABEL_POOL_INDEX]: String(index) },
      annotations: { ...t.metadata.annotations, [ANNOTATION_POOL_TEMPLATE]: hash },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: POOL_KIND,
          name,
          uid: pool.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: replicaSpec(t.spec as Spec, index),
  };
}
