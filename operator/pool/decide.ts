/**
 * What a pool should do, pure: from the pool and its replicas as cached, which replicas to create, delete and
 * bring up to date, and the status (counts, selector, kstatus conditions).
 */
import {
  LABEL_POOL,
  ANNOTATION_POOL_TEMPLATE,
  type PoolStatus,
  type VirtualMachinePool,
} from "../../crds/api/pool.ts";
import type { Condition } from "../../crds/api/status.ts";
import { buildConditions, type ConditionInput } from "../reconcile/conditions.ts";
import { buildReplica, replicaIndex, templateHash } from "./replica.ts";

/** A replica as the VM cache shows it. */
export interface ReplicaView {
  name: string;
  uid: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  deleting: boolean;
  /** Its Ready condition is True. */
  ready: boolean;
  templateHash?: string;
}

/** A side effect for the shell. */
export type PoolAction =
  | { kind: "create"; vm: Record<string, unknown> }
  | { kind: "delete"; name: string; uid: string }
  | { kind: "update"; vm: Record<string, unknown> };

/** The decision about one pool. */
export interface PoolDecision {
  actions: PoolAction[];
  status: PoolStatus;
}

/**
 * Replicas to remove when `alive` exceeds `replicas`: those listed in scaleIn.first (in order), then by
 * scaleIn.order (NewestFirst: latest creation first, ties by higher index; HighestIndexFirst).
 */
export function scaleInVictims(pool: VirtualMachinePool, alive: ReplicaView[], count: number): ReplicaView[] {
  const name = pool.metadata.name;
  const idx = (r: ReplicaView) => replicaIndex(name, r.name) ?? Number.MAX_SAFE_INTEGER;
  const listed = (pool.spec.scaleIn.first ?? []).flatMap((n) => alive.filter((r) => r.name === n));
  const rest = alive
    .filter((r) => !listed.includes(r))
    .sort((a, b) =>
      pool.spec.scaleIn.order === "HighestIndexFirst"
        ? idx(b) - idx(a)
        : b.createdAt - a.createdAt || idx(b) - idx(a),
    );
  return [...new Set([...listed, ...rest])].slice(0, count);
}

/** Decides what to do about one pool. Pure. */
export function decidePool(
  pool: VirtualMachinePool,
  replicas: ReplicaView[],
  prevConditions: Condition[] | undefined,
  now: number,
): PoolDecision {
  const want = pool.spec.replicas;
  const hash = templateHash(pool);
  const alive = replicas.filter((r) => !r.deleting);
  const actions: PoolAction[] = [];
  // A replica being deleted still holds its place, as a StatefulSet's pod does: a deleted replica comes
  // back under its own name (and so with its own DataVolumes) once it is gone, not as a new one beside it.
  if (replicas.length < want) {
    const taken = new Set(replicas.map((r) => replicaIndex(pool.metadata.name, r.name)));
    for (let i = 0, made = 0; made < want - replicas.length; i++)
      if (!taken.has(i)) {
        actions.push({ kind: "create", vm: buildReplica(pool, i, hash) });
        made++;
      }
  }
  const victims = alive.length > want ? scaleInVictims(pool, alive, alive.length - want) : [];
  for (const v of victims) actions.push({ kind: "delete", name: v.name, uid: v.uid });
  const staying = alive.filter((r) => !victims.includes(r));
  for (const r of staying) {
    const index = replicaIndex(pool.metadata.name, r.name);
    if (r.templateHash !== hash && index !== undefined)
      actions.push({ kind: "update", vm: buildReplica(pool, index, hash) });
  }
  const ready = staying.filter((r) => r.ready).length;
  const updated = staying.filter((r) => r.templateHash === hash).length;
  const settled =
    alive.length === want && ready === want && updated === want && replicas.length === alive.length;
  const message = settled
    ? `${want} of ${want} replicas ready`
    : `${alive.length} replicas (${ready} ready, ${updated} up to date, ${replicas.length - alive.length} being deleted) of ${want}`;
  const generation = (pool.metadata.generation as number | undefined) ?? 0;
  const wanted: ConditionInput[] = [
    {
      type: "Ready",
      status: settled ? "True" : "False",
      reason: settled ? "ReplicasReady" : "Scaling",
      message,
    },
    {
      type: "Reconciling",
      status: settled ? "False" : "True",
      reason: settled ? "ReplicasReady" : "Scaling",
      message,
    },
  ];
  return {
    actions,
    status: {
      replicas: alive.length,
      readyReplicas: ready,
      updatedReplicas: updated,
      labelSelector: `${LABEL_POOL}=${pool.metadata.name}`,
      observedGeneration: generation,
      conditions: buildConditions(wanted, prevConditions, now, generation),
    },
  };
}

/** The replica view of a cached VM. */
export function replicaView(vm: {
  metadata: {
    name?: string;
    uid?: string;
    creationTimestamp?: unknown;
    deletionTimestamp?: unknown;
    annotations?: Record<string, string>;
  };
  status?: unknown;
}): ReplicaView {
  const conditions = (vm.status as { conditions?: { type: string; status: string }[] } | undefined)
    ?.conditions;
  const hash = vm.metadata.annotations?.[ANNOTATION_POOL_TEMPLATE];
  return {
    name: vm.metadata.name ?? "",
    uid: vm.metadata.uid ?? "",
    createdAt: Date.parse(String(vm.metadata.creationTimestamp ?? "")) || 0,
    deleting: Boolean(vm.metadata.deletionTimestamp),
    ready: conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    ...(hash ? { templateHash: hash } : {}),
  };
}
