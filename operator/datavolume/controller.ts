/**
 * The DataVolume controller's shell: informers on DataVolumes and on the claims and importer pods they own,
 * a queue of DataVolume keys (the operator's {@link Controller}), and a reconcile that loads, polls the running
 * importer's progress, lets `decideDataVolume` choose, carries out its actions and writes status when it
 * changed.
 */
import type { KubernetesObject, V1ObjectMeta, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  DATAVOLUME_API_VERSION,
  DATAVOLUME_KIND,
  DATAVOLUME_PLURAL,
  dataVolumeSchema,
  type DataVolume,
  type DataVolumeStatus,
} from "../../crds/api/datavolume.ts";
import { FIELD_MANAGER, GROUP, LABEL_VM, VERSION } from "../../crds/contract/metadata.ts";
import { isApiStatus } from "../../lib/kube/errors.ts";
import { PATCH, type KubeClient } from "../../lib/kube/client.ts";
import type { EventRecorder } from "../kube/events.ts";
import { Informer } from "../kube/informer.ts";
import { paths, type KubeResources } from "../kube/resources.ts";
import { canonicalJson } from "../pod/spec-hash.ts";
import type { Clock } from "../../lib/clock.ts";
import { IMPORTER_PROGRESS_PORT } from "../../crds/importer/config.ts";
import { buildConditions } from "../reconcile/conditions.ts";
import { DV_TYPE, importerPodName, LABEL_DATAVOLUME } from "./names.ts";
import { decideDataVolume, type DvDecision, type DvObserved, type SourceClaimView } from "./phase.ts";
import { claimView, importerView, podUsingClaim } from "./view.ts";
import type { DataVolumeFacts } from "./vm-disks.ts";

const enc = encodeURIComponent;
/** Collection path of DataVolumes. */
export const dvPath = (ns?: string) =>
  `/apis/${GROUP}/${VERSION}${ns ? `/namespaces/${enc(ns)}` : ""}/${DATAVOLUME_PLURAL}`;

/** A DataVolume as cached (not yet validated). */
type CachedDv = {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: unknown;
  status?: DataVolumeStatus;
};

/** What the controller needs. */
export interface DataVolumeControllerDeps {
  client: KubeClient;
  resources: KubeResources;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  namespaces: string[];
  /** The importer pod's image settings (the launcher image). */
  podSettings: DvObserved["podSettings"];
  /** Reads a running importer's progress; default: HTTP GET of its /progress. */
  pollProgress?: (pod: V1Pod) => Promise<number | undefined>;
  /** Asks for a DataVolume key to be reconciled. */
  enqueue(key: string): void;
  /** A DataVolume changed (VMs waiting on it look again). */
  changed?(dv: CachedDv): void;
  /** Parts that run beside the controller and start and stop with it (the online disk resizer). */
  companions?: { start(): Promise<void>; stop(): Promise<void> }[];
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) =>
  `${o.metadata?.namespace}/${o.metadata?.name}`;

/** Default progress poll: the importer's endpoint on the pod IP, with a short timeout. */
async function httpProgress(pod: V1Pod): Promise<number | undefined> {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  try {
    const res = await fetch(
      `http://${ip.includes(":") ? `[${ip}]` : ip}:${IMPORTER_PROGRESS_PORT}/progress`,
      {
        signal: AbortSignal.timeout(2_000),
      },
    );
    const body = (await res.json()) as { percent?: unknown };
    return typeof body.percent === "number" ? body.percent : undefined;
  } catch {
    return undefined;
  }
}

/** DataVolume caches and reconcile. */
export class DataVolumeController {
  readonly #d: DataVolumeControllerDeps;
  readonly #dvs = new Map<string, Informer<CachedDv>>();
  readonly #pods = new Map<string, Informer<V1Pod>>();
  readonly #pvcs = new Map<string, Informer<V1PersistentVolumeClaim>>();
  /** Read-your-writes for status, as the VM reconciler keeps. */
  readonly #written = new Map<string, { uid: string; status: DataVolumeStatus }>();

  constructor(deps: DataVolumeControllerDeps) {
    this.#d = deps;
    const common = { client: deps.client, clock: deps.clock, log: deps.log };
    const ownerKey = (o: V1Pod | V1PersistentVolumeClaim) => {
      const dv = o.metadata?.labels?.[LABEL_DATAVOLUME];
      if (dv) deps.enqueue(`${o.metadata?.namespace}/${dv}`);
    };
    for (const ns of deps.namespaces.length ? deps.namespaces : [""]) {
      const dvs = new Informer<CachedDv>({ ...common, path: dvPath(ns || undefined) });
      const onDv = (dv: CachedDv) => {
        deps.enqueue(keyOf(dv));
        deps.changed?.(dv);
      };
      dvs.on({ add: onDv, update: onDv, delete: (dv) => deps.changed?.(dv) });
      const pods = new Informer<V1Pod>({
        ...common,
        path: paths.pods(ns || undefined),
        labelSelector: LABEL_DATAVOLUME,
      });
      const pvcs = new Informer<V1PersistentVolumeClaim>({
        ...common,
        path: paths.pvcs(ns || undefined),
        labelSelector: LABEL_DATAVOLUME,
      });
      for (const inf of [pods, pvcs]) inf.on({ add: ownerKey, update: ownerKey, delete: ownerKey });
      this.#dvs.set(ns, dvs);
      this.#pods.set(ns, pods);
      this.#pvcs.set(ns, pvcs);
    }
  }

  /** Lists and watches; resolves once every informer has synced. */
  async start(): Promise<void> {
    await Promise.all(
      [...this.#dvs.values(), ...this.#pods.values(), ...this.#pvcs.values()].map((i) => i.start()),
    );
    await Promise.all((this.#d.companions ?? []).map((c) => c.start()));
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    await Promise.all((this.#d.companions ?? []).map((c) => c.stop()));
    await Promise.all(
      [...this.#dvs.values(), ...this.#pods.values(), ...this.#pvcs.values()].map((i) => i.stop()),
    );
  }

  /** True once every informer has synced. */
  get synced(): boolean {
    return [...this.#dvs.values(), ...this.#pods.values(), ...this.#pvcs.values()].every((i) => i.synced);
  }

  #informer<T extends KubernetesObject>(map: Map<string, Informer<T>>, ns: string): Informer<T> | undefined {
    return map.get(ns) ?? map.get("");
  }

  /** A cached DataVolume. */
  dataVolume(namespace: string, name: string): CachedDv | undefined {
    return this.#informer(this.#dvs, namespace)?.get(name, namespace);
  }

  /** Every cached DataVolume's key. */
  keys(): string[] {
    return [...this.#dvs.values()].flatMap((i) => i.list().map(keyOf));
  }

  /** What a VM needs to know of the DataVolume `name` (operator/datavolume/vm-disks.ts). */
  facts(namespace: string, name: string): DataVolumeFacts {
    const dv = this.dataVolume(namespace, name);
    if (!dv) return { found: false };
    const mine = this.#written.get(`${namespace}/${name}`);
    const status = mine && mine.uid === dv.metadata.uid ? mine.status : dv.status;
    const ready = status?.conditions?.find((c) => c.type === "Ready");
    const format = (dv.spec as { format?: unknown } | undefined)?.format === "qcow2" ? "qcow2" : "raw";
    const owner = dv.metadata.ownerReferences?.find((r) => r.controller)?.uid;
    return {
      found: true,
      uid: dv.metadata.uid ?? "",
      format,
      ...(status?.phase ? { phase: status.phase } : {}),
      ...(status?.progress ? { progress: status.progress } : {}),
      ...(ready ? { reason: ready.reason, message: ready.message } : {}),
      ...(owner ? { ownerUid: owner } : {}),
    };
  }

  /** Creates a DataVolume (a VM's template); 409 when it exists. */
  create(dv: DataVolume): Promise<unknown> {
    return this.#d.client.request("POST", dvPath(dv.metadata.namespace ?? "default"), {
      body: dv,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  async #sourceView(dv: DataVolume): Promise<SourceClaimView | undefined> {
    const src = dv.spec.source.pvc;
    if (!src || (src.namespace && src.namespace !== dv.metadata.namespace)) return undefined;
    const ns = dv.metadata.namespace ?? "default";
    let pvc: V1PersistentVolumeClaim;
    try {
      pvc = await this.#d.client.request<V1PersistentVolumeClaim>(
        "GET",
        `${paths.pvcs(ns)}/${enc(src.name)}`,
      );
    } catch (err) {
      if (isApiStatus(err, 404)) return { found: false };
      throw err;
    }
    const pods = await this.#d.client.request<{ items: V1Pod[] }>("GET", paths.pods(ns), {
      query: { labelSelector: LABEL_VM },
    });
    const inUseBy = podUsingClaim(pods.items, src.name);
    return {
      found: true,
      volumeMode: pvc.spec?.volumeMode === "Block" ? "Block" : "Filesystem",
      ...(inUseBy ? { inUseBy } : {}),
    };
  }

  /** Reconciles the DataVolume `key`; throws on errors worth retrying. */
  async reconcile(key: string, log: Logger): Promise<{ requeueAfterMs?: number }> {
    const [namespace, name] = key.split("/") as [string, string];
    const cached = this.dataVolume(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) {
      this.#written.delete(key);
      return {};
    }
    const uid = cached.metadata.uid ?? "";
    const ref = { namespace, name, uid, type: DV_TYPE };
    const mine = this.#written.get(key);
    const prevStatus = mine && mine.uid === uid ? mine.status : cached.status;
    const parsed = dataVolumeSchema.safeParse({ ...cached, status: undefined });
    let decision: DvDecision;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const message = `${issue?.path.join(".")}: ${issue?.message}`;
      const now = this.#d.clock.now();
      decision = {
        actions: [],
        events: [{ type: "Warning", reason: "InvalidSpec", message }],
        status: {
          phase: "Failed",
          claimName: name,
          conditions: buildConditions(
            [{ type: "Ready", status: "False", reason: "InvalidSpec", message }],
            prevStatus?.conditions,
            now,
            cached.metadata.generation ?? 0,
          ),
        },
      };
    } else {
      const dv: DataVolume = { ...parsed.data, status: prevStatus };
      const pvc = this.#informer(this.#pvcs, namespace)?.get(name, namespace);
      const pod = this.#informer(this.#pods, namespace)?.get(importerPodName(name), namespace);
      const podOk = pod && pod.metadata?.ownerReferences?.some((r) => r.uid === uid) ? pod : undefined;
      const progress =
        podOk?.status?.phase === "Running" ? await (this.#d.pollProgress ?? httpProgress)(podOk) : undefined;
      const source = !podOk ? await this.#sourceView(dv) : undefined;
      decision = decideDataVolume(dv, {
        now: this.#d.clock.now(),
        ...(pvc ? { claim: claimView(pvc, uid) } : {}),
        ...(podOk ? { pod: importerView(podOk) } : {}),
        ...(progress !== undefined ? { progress } : {}),
        ...(source ? { source } : {}),
        podSettings: this.#d.podSettings,
      });
    }
    for (const action of decision.actions) {
      try {
        if (action.kind === "createClaim") await this.#d.resources.createPvc(action.claim);
        else if (action.kind === "createPod") await this.#d.resources.createPod(action.pod);
        else await this.#d.resources.deletePod(namespace, importerPodName(name), action.uid);
      } catch (err) {
        // 409: exists already (or the uid precondition failed); 404: already gone. The caches catch up.
        if (isApiStatus(err, 409, 404)) return { requeueAfterMs: 1_000 };
        this.#d.events.record(ref, {
          type: "Warning",
          reason: "FailedCreate",
          message: `${action.kind}: ${(err as Error).message}`,
        });
        throw err;
      }
      log.info({ action: action.kind, dv: key }, "datavolume action");
    }
    if (canonicalJson(decision.status) !== canonicalJson(prevStatus ?? {})) {
      try {
        await this.#d.client.request("PATCH", `${dvPath(namespace)}/${enc(name)}/status`, {
          contentType: PATCH.apply,
          query: { fieldManager: FIELD_MANAGER, force: true },
          body: {
            apiVersion: DATAVOLUME_API_VERSION,
            kind: DATAVOLUME_KIND,
            metadata: { name, namespace, uid },
            status: decision.status,
          },
        });
        this.#written.set(key, { uid, status: decision.status });
        // Wake the VMs waiting on it now that facts() reads the new status: the watch event for this write
        // can arrive before the PATCH resolves, and a VM reconciled then saw the status written before.
        this.#d.changed?.(cached);
      } catch (err) {
        if (isApiStatus(err, 404)) return {};
        if (isApiStatus(err, 409)) return { requeueAfterMs: 1_000 };
        throw err;
      }
    }
    for (const e of decision.events) this.#d.events.record(ref, e);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }
}
