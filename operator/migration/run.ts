/**
 * The migration controller as a running part: an informer on VirtualMachineMigrations feeding a queue
 * (operator/controller.ts) whose workers run {@link reconcileMigration}. Started like the pool and DataVolume
 * controllers; its CRD is optional (an install without it still runs VMs).
 */
import type { Logger } from "pino";
import { GROUP, VERSION } from "../../crds/contract/metadata.ts";
import { MIGRATION_PLURAL } from "../../crds/api/migration.ts";
import { Controller } from "../controller.ts";
import { Informer } from "../kube/informer.ts";
import type { OperatorMetrics } from "../runtime/metrics.ts";
import { reconcileMigration, type MigrationControllerDeps } from "./controller.ts";

type Keyed = { metadata?: { namespace?: string; name?: string } };

/** What the running controller needs beyond the reconcile's dependencies. */
export interface MigrationRunDeps extends MigrationControllerDeps {
  log: Logger;
  metricsQueue: Pick<OperatorMetrics, "reconcileTotal" | "reconcileDuration" | "queueDepth" | "retriesTotal">;
  namespaces: string[];
  workers?: number;
}

/** The informers and the queue; `start` lists, watches and runs the workers; `stop` ends both. */
export class MigrationController {
  readonly controller: Controller;
  readonly #informers: Informer<Keyed>[];

  constructor(d: MigrationRunDeps) {
    this.controller = new Controller({
      reconcile: async (key) => {
        const [ns, name] = key.split("/") as [string, string];
        return reconcileMigration(d, ns, name);
      },
      workers: d.workers ?? 2,
      retryBaseMs: 1000,
      retryMaxMs: 60_000,
      clock: d.clock,
      log: d.log,
      metrics: d.metricsQueue,
    });
    const base = `/apis/${GROUP}/${VERSION}`;
    const paths = d.namespaces.length
      ? d.namespaces.map((ns) => `${base}/namespaces/${encodeURIComponent(ns)}/${MIGRATION_PLURAL}`)
      : [`${base}/${MIGRATION_PLURAL}`];
    this.#informers = paths.map(
      (path) => new Informer<Keyed>({ path, client: d.client, clock: d.clock, log: d.log }),
    );
    const enqueue = (o: Keyed) => this.controller.add(`${o.metadata?.namespace}/${o.metadata?.name}`);
    for (const i of this.#informers) i.on({ add: enqueue, update: enqueue });
  }

  /** Keys of every cached migration (the queue starts from them). */
  keys(): string[] {
    return this.#informers.flatMap((i) =>
      i.list().map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`),
    );
  }

  /** Starts the informers and the workers. */
  async start(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.start()));
    this.controller.start(this.keys());
  }

  /** Stops the workers and the informers. */
  async stop(): Promise<void> {
    await this.controller.stop();
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}
