/**
 * The migration controller as a running part: informers on VirtualMachineMigrations (one per watched
 * namespace, or one cluster-wide) that enqueue keys, and the reconcile the operator's queue runs for a key.
 * operator/wiring.ts starts the informers like the pool and DataVolume ones (the CRD is optional: an install
 * without it still runs VMs) and the queue while this replica leads.
 */
import type { Logger } from "pino";
import { GROUP, VERSION } from "../../crds/contract/metadata.ts";
import { MIGRATION_PLURAL } from "../../crds/api/migration.ts";
import type { Clock } from "../../lib/clock.ts";
import type { KubeClient } from "../../lib/kube/client.ts";
import { Informer } from "../kube/informer.ts";
import type { ReconcileOutcome } from "../reconcile/reconciler.ts";
import { reconcileMigration, type MigrationControllerDeps } from "./controller.ts";

type Keyed = { metadata?: { namespace?: string; name?: string } };
const keyOf = (o: Keyed) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/** The reconcile of one `namespace/name` key, for the operator's queue. */
export function migrationReconcile(d: MigrationControllerDeps): (key: string) => Promise<ReconcileOutcome> {
  return (key) => {
    const [ns, name] = key.split("/") as [string, string];
    return reconcileMigration(d, ns, name);
  };
}

/** Informers on VirtualMachineMigrations that enqueue every added or changed one. */
export class MigrationInformers {
  readonly #informers: Informer<Keyed>[];

  constructor(o: {
    client: KubeClient;
    clock: Clock;
    log: Logger;
    namespaces: string[];
    enqueue(key: string): void;
  }) {
    const base = `/apis/${GROUP}/${VERSION}`;
    const paths = o.namespaces.length
      ? o.namespaces.map((ns) => `${base}/namespaces/${encodeURIComponent(ns)}/${MIGRATION_PLURAL}`)
      : [`${base}/${MIGRATION_PLURAL}`];
    this.#informers = paths.map(
      (path) => new Informer<Keyed>({ path, client: o.client, clock: o.clock, log: o.log }),
    );
    const enqueue = (m: Keyed) => o.enqueue(keyOf(m));
    for (const i of this.#informers) i.on({ add: enqueue, update: enqueue });
  }

  /** Keys of every cached migration (the queue starts from them). */
  keys(): string[] {
    return this.#informers.flatMap((i) => i.list().map(keyOf));
  }

  /** Lists and watches; resolves once every informer has synced. */
  async start(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.start()));
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
