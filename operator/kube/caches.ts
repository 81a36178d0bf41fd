/**
 * The operator's view of the cluster: informers on VirtualMachines, launcher pods and PVCs (cluster-wide or
 * per watched namespace), plus the two indexes reconciles need: pods by owning VM, VMs by claim.
 */
import type { KubernetesObject, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KIND } from "../../crds/api/virtual-machine.ts";
import { LABEL_VM } from "../../crds/contract/index.ts";
import type { Clock } from "../../lib/clock.ts";
import type { KubeClient } from "../../lib/kube/client.ts";
import { Informer, type InformerHandlers } from "./informer.ts";
import { paths } from "./resources.ts";

/** A cached VM: not yet validated (the cache holds every VM, valid or not). */
export type CachedVm = KubernetesObject & {
  metadata: NonNullable<KubernetesObject["metadata"]>;
  spec?: unknown;
  status?: unknown;
};

/**
 * The PVC names a VM's spec refers to, read from an unvalidated spec: the cache indexes every VM (an invalid
 * one still has claims whose arrival should wake it).
 */
export function claimNamesOf(spec: unknown): string[] {
  const volumes = (
    spec as {
      volumes?: { persistentVolumeClaim?: { claimName?: unknown }; dataVolume?: { name?: unknown } }[];
    }
  )?.volumes;
  if (!Array.isArray(volumes)) return [];
  // A dataVolume volume is the DataVolume's claim, which has its name.
  return volumes.flatMap((v) =>
    typeof v?.persistentVolumeClaim?.claimName === "string"
      ? [v.persistentVolumeClaim.claimName]
      : typeof v?.dataVolume?.name === "string"
        ? [v.dataVolume.name]
        : [],
  );
}

/** `namespace/name`. */
export const keyOf = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ""}/${name ?? ""}`;

/** The VM (namespace/name) a pod belongs to, by its controller owner reference. */
export function ownerKey(pod: V1Pod | V1PersistentVolumeClaim): string | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller && r.kind === KIND);
  return ref ? keyOf(pod.metadata?.namespace, ref.name) : undefined;
}

/**
 * The part of a launcher pod the operator reads (see podView): metadata, the node, the status. The spec —
 * with the launcher config in it twice — is most of a pod's size and never read back.
 */
export function trimPod(obj: KubernetesObject): KubernetesObject {
  const pod = obj as V1Pod;
  const m = pod.metadata ?? {};
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    },
    spec: { containers: [], ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}) },
    ...(pod.status ? { status: pod.status } : {}),
  } as V1Pod;
}

/** Callbacks into the controller. */
export interface CacheEvents {
  /** Something about this VM may have changed. */
  enqueue(key: string): void;
  /** A VM appeared after the initial sync (a creation, for start latency). */
  vmCreated?(key: string): void;
}

/** Informers plus indexes. */
export class Caches {
  readonly #vms: Map<string | undefined, Informer<CachedVm>> = new Map();
  readonly #pods: Map<string | undefined, Informer<V1Pod>> = new Map();
  readonly #pvcs: Map<string | undefined, Informer<V1PersistentVolumeClaim>> = new Map();
  /** VM key → names of pods it controls. */
  readonly #podsByVm = new Map<string, Set<string>>();
  /** `namespace/claim` → VM keys using it. */
  readonly #vmsByClaim = new Map<string, Set<string>>();
  /** VM key → its claim keys, to update the index on change. */
  readonly #claimsOfVm = new Map<string, string[]>();
  #synced = false;

  constructor(
    client: KubeClient,
    namespaces: readonly string[],
    clock: Clock,
    log: Logger,
    private readonly events: CacheEvents,
  ) {
    const scopes: (string | undefined)[] = namespaces.length ? [...namespaces] : [undefined];
    for (const ns of scopes) {
      const common = { client, clock, log };
      this.#vms.set(ns, new Informer<CachedVm>({ ...common, path: paths.vms(ns) }));
      this.#pods.set(
        ns,
        new Informer<V1Pod>({ ...common, path: paths.pods(ns), labelSelector: LABEL_VM, trim: trimPod }),
      );
      this.#pvcs.set(ns, new Informer<V1PersistentVolumeClaim>({ ...common, path: paths.pvcs(ns) }));
    }
    for (const inf of this.#vms.values()) inf.on(this.#vmHandlers());
    for (const inf of this.#pods.values()) inf.on(this.#podHandlers());
    for (const inf of this.#pvcs.values()) inf.on(this.#pvcHandlers());
  }

  #vmHandlers(): InformerHandlers<CachedVm> {
    const changed = (vm: CachedVm) => {
      const key = keyOf(vm.metadata.namespace, vm.metadata.name);
      this.#indexClaims(key, vm);
      this.events.enqueue(key);
      return key;
    };
    return {
      add: (vm) => {
        const key = changed(vm);
        if (this.#synced) this.events.vmCreated?.(key);
      },
      update: changed,
      delete: (vm) => {
        const key = keyOf(vm.metadata.namespace, vm.metadata.name);
        this.#indexClaims(key, undefined);
        this.events.enqueue(key);
      },
    };
  }

  #indexClaims(key: string, vm: CachedVm | undefined): void {
    for (const c of this.#claimsOfVm.get(key) ?? []) this.#vmsByClaim.get(c)?.delete(key);
    if (!vm) return void this.#claimsOfVm.delete(key);
    const claims = claimNamesOf(vm.spec).map((c) => keyOf(vm.metadata.namespace, c));
    this.#claimsOfVm.set(key, claims);
    for (const c of claims) {
      let set = this.#vmsByClaim.get(c);
      if (!set) this.#vmsByClaim.set(c, (set = new Set()));
      set.add(key);
    }
  }

  #podHandlers(): InformerHandlers<V1Pod> {
    const changed = (pod: V1Pod) => {
      const key = ownerKey(pod);
      if (!key) return;
      let set = this.#podsByVm.get(key);
      if (!set) this.#podsByVm.set(key, (set = new Set()));
      set.add(pod.metadata?.name ?? "");
      this.events.enqueue(key);
    };
    return {
      add: changed,
      update: changed,
      delete: (pod) => {
        const key = ownerKey(pod);
        if (!key) return;
        const set = this.#podsByVm.get(key);
        set?.delete(pod.metadata?.name ?? "");
        if (set?.size === 0) this.#podsByVm.delete(key);
        this.events.enqueue(key);
      },
    };
  }

  #pvcHandlers(): InformerHandlers<V1PersistentVolumeClaim> {
    const changed = (pvc: V1PersistentVolumeClaim) => {
      for (const key of this.#vmsByClaim.get(keyOf(pvc.metadata?.namespace, pvc.metadata?.name)) ?? [])
        this.events.enqueue(key);
      // A VM's own state claim maps to it by owner reference, as its pods do.
      const owner = ownerKey(pvc);
      if (owner) this.events.enqueue(owner);
    };
    return { add: changed, update: changed, delete: changed };
  }

  /** Starts every informer; resolves when all have listed once. */
  async start(): Promise<void> {
    const all = [...this.#vms.values(), ...this.#pods.values(), ...this.#pvcs.values()];
    await Promise.all(all.map((i) => i.start()));
    this.#synced = true;
  }

  /** True once every informer has listed once. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    const all = [...this.#vms.values(), ...this.#pods.values(), ...this.#pvcs.values()];
    await Promise.all(all.map((i) => i.stop()));
  }

  #scoped<T>(map: Map<string | undefined, T>, ns: string): T | undefined {
    return map.get(ns) ?? map.get(undefined);
  }

  /** A cached VM by key. */
  vm(key: string): CachedVm | undefined {
    const [ns, name] = splitKey(key);
    return this.#scoped(this.#vms, ns)?.get(name, ns);
  }

  /** Every cached VM. */
  allVms(): CachedVm[] {
    return [...this.#vms.values()].flatMap((i) => [...i.list()]);
  }

  /** Pods controlled by the VM `key` with uid `uid`. */
  podsOf(key: string, uid: string | undefined): V1Pod[] {
    const [ns] = splitKey(key);
    const inf = this.#scoped(this.#pods, ns);
    const out: V1Pod[] = [];
    for (const name of this.#podsByVm.get(key) ?? []) {
      const pod = inf?.get(name, ns);
      const ref = pod?.metadata?.ownerReferences?.find((r) => r.controller && r.kind === KIND);
      if (pod && ref?.uid === uid) out.push(pod);
    }
    return out;
  }

  /** A cached launcher pod by name. */
  pod(namespace: string, name: string): V1Pod | undefined {
    return this.#scoped(this.#pods, namespace)?.get(name, namespace);
  }

  /** A cached PVC. */
  pvc(namespace: string, name: string): V1PersistentVolumeClaim | undefined {
    return this.#scoped(this.#pvcs, namespace)?.get(name, namespace);
  }
}

/** Splits `namespace/name`. */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}
