/**
 * The migration controller's shell: for one VirtualMachineMigration key it reads what `decideMigration`
 * needs (the migration, the VM and its claims, the source and target pods, the target node, both launchers'
 * `migrate status` through {@link LauncherExec}), lets it decide, carries out the actions in order and
 * writes the status only when all of them succeeded. Reads are plain GETs (a level-triggered reconcile).
 *
 * Not wired into the operator yet (docs/migration.md, "Open"): the VM reconciler does not adopt a target pod.
 */
import type { V1Node, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import {
  MIGRATION_API_VERSION,
  MIGRATION_KIND,
  MIGRATION_PLURAL,
  migrationSchema,
  type MigrationStatus,
  type VirtualMachineMigration,
} from "../../crds/api/migration.ts";
import { vmSpecStoredShape } from "../../crds/api/spec.ts";
import {
  FIELD_MANAGER,
  GROUP,
  LAUNCHER_CONTAINER,
  launcherPodName,
  PLURAL,
  VERSION,
} from "../../crds/contract/metadata.ts";
import { rfc3339, type Clock } from "../../lib/clock.ts";
import { PATCH, type KubeClient } from "../../lib/kube/client.ts";
import { isApiStatus } from "../../lib/kube/errors.ts";
import type { VmEvent } from "../kube/events.ts";
import {
  decideMigration,
  type LauncherMigrationStatus,
  type MigrationAction,
  type MigrationFacts,
  type PodFacts,
} from "./decide.ts";
import { migratability, type ClaimFacts, type Migratability } from "./migratable.ts";
import { buildTargetPod, targetPodName } from "./target-pod.ts";
import { recordMigration, type MigrationMetrics } from "./metrics.ts";

/** Runs `vireo-launcher <args>` in a pod's launcher container (pods/exec in a cluster); resolves stdout. */
export type LauncherExec = (pod: V1Pod, args: string[]) => Promise<string>;

/** What the controller needs. */
export interface MigrationControllerDeps {
  client: KubeClient;
  exec: LauncherExec;
  events: {
    record(
      ref: { namespace: string; name: string; uid: string; type: typeof MIGRATION_TYPE },
      e: VmEvent,
    ): void;
  };
  clock: Clock;
  /** The cluster's default pod-network binding (bridge does not migrate). */
  defaultBinding: string;
  /** Where phase changes are counted (operator/migration/metrics.ts). */
  metrics?: MigrationMetrics | undefined;
}

/** `apiVersion` and `kind` of a migration, for Events. */
export const MIGRATION_TYPE = { apiVersion: MIGRATION_API_VERSION, kind: MIGRATION_KIND } as const;

const enc = encodeURIComponent;
const migrations = (ns: string) => `/apis/${GROUP}/${VERSION}/namespaces/${enc(ns)}/${MIGRATION_PLURAL}`;
const pods = (ns: string) => `/api/v1/namespaces/${enc(ns)}/pods`;

/** Reconciles one migration; returns when to look again (undefined: on the next change only). */
export async function reconcileMigration(
  d: MigrationControllerDeps,
  namespace: string,
  name: string,
): Promise<{ requeueAfterMs?: number }> {
  const raw = await getOr404<unknown>(d.client, `${migrations(namespace)}/${enc(name)}`);
  if (!raw) return {};
  const m = migrationSchema.parse(raw);
  const facts = await gather(d, namespace, m);
  const decision = decideMigration(facts.view);
  for (const a of decision.actions) await perform(d, namespace, m, facts, a);
  if (JSON.stringify(decision.status) !== JSON.stringify(m.status ?? {})) {
    await d.client.request("PATCH", `${migrations(namespace)}/${enc(name)}/status`, {
      body: { status: decision.status },
      contentType: PATCH.merge,
      query: { fieldManager: FIELD_MANAGER },
    });
    if (d.metrics) recordMigration(d.metrics, { namespace, name }, m.status, decision.status);
  }
  return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
}

interface Gathered {
  view: MigrationFacts;
  sourcePod?: V1Pod | undefined;
  targetPod?: V1Pod | undefined;
}

async function gather(d: MigrationControllerDeps, ns: string, m: VirtualMachineMigration): Promise<Gathered> {
  const status: MigrationStatus = m.status ?? {};
  const vmRaw = await getOr404<VmObject>(
    d.client,
    `/apis/${GROUP}/${VERSION}/namespaces/${enc(ns)}/${PLURAL}/${enc(m.spec.vmName)}`,
  );
  const sourceName = status.source?.pod ?? vmRaw?.status?.launcherPod ?? launcherPodName(m.spec.vmName);
  const sourcePod = await getOr404<V1Pod>(d.client, `${pods(ns)}/${enc(sourceName)}`);
  const targetPod = await getOr404<V1Pod>(d.client, `${pods(ns)}/${enc(targetPodName(m.metadata.name!))}`);
  const node = m.spec.targetNode
    ? await getOr404<V1Node>(d.client, `/api/v1/nodes/${enc(m.spec.targetNode)}`)
    : undefined;
  const view: MigrationFacts = {
    spec: m.spec,
    status,
    vm: vmRaw
      ? { running: vmRaw.status?.phase === "Running", migratable: await migratableOf(d, ns, vmRaw) }
      : undefined,
    othersActive: status.phase ? [] : await othersActive(d, ns, m),
    source: sourcePod && podFacts(sourcePod),
    target: targetPod && podFacts(targetPod),
    targetNode: node ? { unschedulable: node.spec?.unschedulable === true } : undefined,
    nowIso: rfc3339(d.clock.now()),
  };
  if (targetPod?.status?.phase === "Pending" && targetPod.metadata?.creationTimestamp)
    view.targetPendingMs = d.clock.now() - new Date(targetPod.metadata.creationTimestamp).getTime();
  if (status.phase === "Running" && sourcePod?.status?.phase === "Running")
    view.sourceLauncher = await launcherStatus(d, sourcePod);
  if (status.phase === "Scheduling" && targetPod?.status?.phase === "Running")
    view.targetLauncher = await launcherStatus(d, targetPod);
  return { view, sourcePod, targetPod };
}

type VmObject = {
  metadata: { uid?: string };
  spec?: unknown;
  status?: { phase?: string; launcherPod?: string };
};

async function migratableOf(d: MigrationControllerDeps, ns: string, vm: VmObject): Promise<Migratability> {
  const spec = vmSpecStoredShape.safeParse(vm.spec);
  if (!spec.success)
    return { status: "False", reason: "ClaimUnknown", message: "the VM's spec does not validate" };
  const claims = new Map<string, ClaimFacts>();
  for (const v of spec.data.volumes) {
    const claim = v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name;
    if (claim === undefined) continue;
    const pvc = await getOr404<V1PersistentVolumeClaim>(
      d.client,
      `/api/v1/namespaces/${enc(ns)}/persistentvolumeclaims/${enc(claim)}`,
    );
    if (pvc)
      claims.set(claim, { accessModes: pvc.spec?.accessModes ?? [], volumeMode: pvc.spec?.volumeMode });
  }
  return migratability(spec.data, (n) => claims.get(n), d.defaultBinding);
}

/** Other migrations of the same VM that were accepted (have a phase) and are not final. */
async function othersActive(
  d: MigrationControllerDeps,
  ns: string,
  m: VirtualMachineMigration,
): Promise<string[]> {
  const list = await d.client.request<{ items: VirtualMachineMigration[] }>("GET", migrations(ns));
  return list.items
    .filter((o) => o.metadata.name !== m.metadata.name && o.spec.vmName === m.spec.vmName)
    .filter((o) => o.status?.phase && !["Succeeded", "Failed", "Cancelled"].includes(o.status.phase))
    .map((o) => o.metadata.name!);
}

function podFacts(p: V1Pod): PodFacts {
  const launcher = p.status?.containerStatuses?.find((c) => c.name === LAUNCHER_CONTAINER);
  return {
    name: p.metadata!.name!,
    node: p.spec?.nodeName,
    phase: (p.status?.phase ?? "Pending") as PodFacts["phase"],
    ip: p.status?.podIP,
    terminationMessage: launcher?.state?.terminated?.message,
  };
}

/** A launcher's `migrate status`; undefined when it does not answer (yet). */
async function launcherStatus(
  d: MigrationControllerDeps,
  pod: V1Pod,
): Promise<LauncherMigrationStatus | undefined> {
  try {
    return JSON.parse(await d.exec(pod, ["migrate", "status"])) as LauncherMigrationStatus;
  } catch {
    return undefined;
  }
}

async function perform(
  d: MigrationControllerDeps,
  ns: string,
  m: VirtualMachineMigration,
  g: Gathered,
  a: MigrationAction,
): Promise<void> {
  switch (a.kind) {
    case "create-target-pod": {
      if (!g.sourcePod) throw new Error("no source pod to copy");
      const pod = buildTargetPod(g.sourcePod, {
        name: m.metadata.name!,
        sourceNode: g.sourcePod.spec?.nodeName ?? "",
        targetNode: m.spec.targetNode,
      });
      await d.client
        .request("POST", pods(ns), { body: pod, query: { fieldManager: FIELD_MANAGER } })
        .catch(ignore(409));
      return;
    }
    case "delete-source-pod":
      if (m.status?.source?.pod)
        await d.client.request("DELETE", `${pods(ns)}/${enc(m.status.source.pod)}`).catch(ignore(404));
      return;
    case "delete-target-pod":
      await d.client
        .request("DELETE", `${pods(ns)}/${enc(targetPodName(m.metadata.name!))}`)
        .catch(ignore(404));
      return;
    case "exec": {
      const pod = a.pod === "source" ? g.sourcePod : g.targetPod;
      if (!pod) throw new Error(`no ${a.pod} pod to exec into`);
      await d.exec(pod, ["migrate", a.verb, ...(a.request ? [JSON.stringify(a.request)] : [])]);
      return;
    }
    case "event":
      d.events.record(
        { namespace: ns, name: m.metadata.name!, uid: m.metadata.uid!, type: MIGRATION_TYPE },
        a,
      );
      return;
  }
}

function ignore(code: number) {
  return (err: unknown) => {
    if (!isApiStatus(err, code)) throw err;
  };
}

async function getOr404<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>("GET", path);
  } catch (err) {
    if (isApiStatus(err, 404)) return undefined;
    throw err;
  }
}
