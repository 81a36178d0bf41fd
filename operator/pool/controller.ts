/**
 * The pool controller's shell: informers on VirtualMachinePools and on the VMs they own (label vireo.dev/pool),
 * a queue of pool keys, and a reconcile that loads, lets `decidePool` choose, creates, deletes and updates
 * replicas, and writes status when it changed.
 */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { LABEL_POOL, POOL_KIND, POOL_PLURAL, poolSchema, type PoolStatus } from "../../crds/api/pool.ts";
import { API_VERSION, GROUP, PLURAL, VERSION } from "../../crds/api/virtual-machine.ts";
import { isApiStatus } from "../../lib/kube/errors.ts";
import { PATCH, type KubeClient } from "../../lib/kube/client.ts";
import type { EventRecorder } from "../kube/events.ts";
import { Informer } from "../kube/informer.ts";
import { canonicalJson } from "../pod/spec-hash.ts";
import type { ReconcileOutcome } from "../reconcile/reconciler.ts";
import type { Clock } from "../../lib/clock.ts";
import { decidePool, replicaView, type PoolAction } from "./decide.ts";

/** Field manager of the pool controller's writes to replicas (apart from the VM operator's own). */
export const POOL_FIELD_MANAGER = "vireo-pool";

const enc = encodeURIComponent;
const nsPath = (ns?: string) => (ns ? `/namespaces/${enc(ns)}` : "");
/** Collection paths of pools and VMs. */
export const poolPaths = {
  pools: (ns?: string) => `/apis/${GROUP}/${VERSION}${nsPath(ns)}/${POOL_PLURAL}`,
  vms: (ns?: string) => `/apis/${GROUP}/${VERSION}${nsPath(ns)}/${PLURAL}`,
};

/** The pool as events name it. */
type PoolRef = { namespace: string; name: string; uid: string; type: { apiVersion: string; kind: string } };

type Cached = {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: unknown;
  status?: unknown;
};

/** What the controller needs. */
export interface PoolControllerDeps {
  client: KubeClient;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Watched namespaces; empty: all. */
  namespaces: string[];
  /** Asks for a pool key to be reconciled. */
  enqueue(key: string): void;
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace}/${o.metadata?.name}`;

/** Pool caches and reconcile. */
export class PoolController {
  readonly #d: PoolControllerDeps;
  readonly #pools = new Map<string, Informer<Cached>>();
  readonly #vms = new Map<string, Informer<Cached>>();
  /** Read-your-writes for status. */
  readonly #written = new Map<string, { uid: string; status: PoolStatus }>();

  constructor(deps: PoolControllerDeps) {
    this.#d = deps;
    const common = { client: deps.client, clock: deps.clock, log: deps.log };
    const onVm = (vm: Cached) => {
      const pool = vm.metadata.labels?.[LABEL_POOL];
      if (pool) deps.enqueue(`${vm.metadata.namespace}/${pool}`);
    };
    for (const ns of deps.namespaces.length ? deps.namespaces : [""]) {
      const pools = new Informer<Cached>({ ...common, path: poolPaths.pools(ns || undefined) });
      pools.on({ add: (p) => deps.enqueue(keyOf(p)), update: (p) => deps.enqueue(keyOf(p)) });
      const vms = new Informer<Cached>({
        ...common,
        path: poolPaths.vms(ns || undefined),
        labelSelector: LABEL_POOL,
      });
      vms.on({ add: onVm, update: onVm, delete: onVm });
      this.#pools.set(ns, pools);
      this.#vms.set(ns, vms);
    }
  }

  #all(): Informer<Cached>[] {
    return [...this.#pools.values(), ...this.#vms.values()];
  }

  /** Lists and watches; resolves once every informer has synced. */
  async start(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.start()));
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.stop()));
  }

  /** True once every informer has synced. */
  get synced(): boolean {
    return this.#all().every((i) => i.synced);
  }

  /** Every cached pool's key. */
  keys(): string[] {
    return [...this.#pools.values()].flatMap((i) => i.list().map(keyOf));
  }

  #inf(map: Map<string, Informer<Cached>>, ns: string): Informer<Cached> | undefined {
    return map.get(ns) ?? map.get("");
  }

  /** Reconciles the pool `key`; throws on errors worth retrying. */
  async reconcile(key: string, log: Logger): Promise<ReconcileOutcome> {
    const [namespace, name] = key.split("/") as [string, string];
    const cached = this.#inf(this.#pools, namespace)?.get(name, namespace);
    // Replicas carry the pool as their controller owner: the garbage collector removes them with it.
    if (!cached || cached.metadata.deletionTimestamp) return (this.#written.delete(key), {});
    const uid = cached.metadata.uid ?? "";
    const ref: PoolRef = { namespace, name, uid, type: { apiVersion: API_VERSION, kind: POOL_KIND } };
    const parsed = poolSchema.safeParse({ ...cached, status: undefined });
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      this.#d.events.record(ref, {
        type: "Warning",
        reason: "InvalidSpec",
        message: `${i?.path.join(".")}: ${i?.message}`,
      });
      return { terminal: "InvalidSpec" };
    }
    const mine = this.#written.get(key);
    const prev = (mine && mine.uid === uid ? mine.status : cached.status) as PoolStatus | undefined;
    const replicas = (this.#inf(this.#vms, namespace)?.list(namespace) ?? [])
      .filter(
        (vm) =>
          vm.metadata.labels?.[LABEL_POOL] === name &&
          vm.metadata.ownerReferences?.some((o) => o.uid === uid),
      )
      .map(replicaView);
    const decision = decidePool(parsed.data, replicas, prev?.conditions, this.#d.clock.now());
    for (const action of decision.actions) {
      const step = await this.#act(namespace, action, ref, log);
      if (step === "requeue") return { requeueAfterMs: 1_000 };
    }
    if (canonicalJson(decision.status) !== canonicalJson(prev ?? {})) {
      try {
        await this.#d.client.request("PATCH", `${poolPaths.pools(namespace)}/${enc(name)}/status`, {
          contentType: PATCH.apply,
          query: { fieldManager: POOL_FIELD_MANAGER, force: true },
          body: {
            apiVersion: API_VERSION,
            kind: POOL_KIND,
            metadata: { name, namespace, uid },
            status: decision.status,
          },
        });
        this.#written.set(key, { uid, status: decision.status });
      } catch (err) {
        if (isApiStatus(err, 404)) return {};
        if (isApiStatus(err, 409)) return { requeueAfterMs: 1_000 };
        throw err;
      }
    }
    return {};
  }

  /** One replica action; 409/404 mean the cache is behind (or the uid precondition failed): look again. */
  async #act(ns: string, a: PoolAction, ref: PoolRef, log: Logger): Promise<"ok" | "requeue"> {
    const vmName = a.kind === "delete" ? a.name : String((a.vm.metadata as { name: string }).name);
    try {
      if (a.kind === "create")
        await this.#d.client.request("POST", poolPaths.vms(ns), {
          body: a.vm,
          query: { fieldManager: POOL_FIELD_MANAGER },
        });
      else if (a.kind === "delete")
        await this.#d.client.request("DELETE", `${poolPaths.vms(ns)}/${enc(a.name)}`, {
          body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: a.uid } },
        });
      else
        await this.#d.client.request("PATCH", `${poolPaths.vms(ns)}/${enc(vmName)}`, {
          contentType: PATCH.apply,
          query: { fieldManager: POOL_FIELD_MANAGER, force: true },
          body: a.vm,
        });
    } catch (err) {
      if (isApiStatus(err, 409, 404)) return "requeue";
      this.#d.events.record(ref, {
        type: "Warning",
        reason: a.kind === "delete" ? "FailedDelete" : "FailedCreate",
        message: `${a.kind} ${vmName}: ${(err as Error).message}`,
      });
      throw err;
    }
    log.info({ replica: vmName, action: a.kind }, "pool replica");
    const reason = { create: "SuccessfulCreate", delete: "SuccessfulDelete", update: "SuccessfulUpdate" }[
      a.kind
    ];
    this.#d.events.record(ref, { type: "Normal", reason, message: `${a.kind}d VirtualMachine ${vmName}` });
    return "ok";
  }
}
