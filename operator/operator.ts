/**
 * `startOperator`: wires caches, the work queue, the reconciler, leader election, metrics and health into one
 * running operator, in-process (tests, embedding) or behind the `vireo-operator` binary.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { createLogger } from "../lib/log.ts";
import { systemClock, type Clock } from "../lib/clock.ts";
import { parseOperatorConfig, type OperatorConfig, type OperatorConfigInput } from "./config.ts";
import { KubeClient } from "../lib/kube/client.ts";
import { serveHttp, type HttpEndpoint } from "./runtime/http.ts";
import { createMetrics, type OperatorMetrics } from "./runtime/metrics.ts";
import { leaderElector, wireOperator, type Wiring } from "./wiring.ts";

/** Optional collaborators. */
export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
}

/** A running operator. */
export interface OperatorHandle {
  /** The validated configuration. */
  readonly config: OperatorConfig;
  /** Port serving /metrics, /healthz and /readyz. */
  readonly httpPort: number;
  /** Metric handles (tests read them directly). */
  readonly metrics: OperatorMetrics;
  /** True while this instance leads and reconciles. */
  isLeader(): boolean;
  /** Orderly stop: stop handing out work, finish in-flight reconciles, release the lease, close. */
  stop(): Promise<void>;
}

/** VMs by status.phase, for the `vireo_operator_vms` gauge. */
function vmPhases(vms: readonly { status?: unknown }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const vm of vms) {
    const phase = (vm.status as { phase?: string } | undefined)?.phase ?? "Unknown";
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  return counts;
}

/** Running the controllers while this instance leads: started on gaining the lease, drained on losing it. */
function leadership(w: Wiring, metrics: OperatorMetrics, log: Logger, stopping: () => boolean) {
  let leading = false;
  return {
    get leading() {
      return leading;
    },
    start(): void {
      if (stopping() || leading) return;
      leading = true;
      metrics.leader.set(1);
      for (const c of w.controllers) c.controller.start(c.keys());
      log.info({ vms: w.vms.depth, workers: w.vms.workers }, "leading: reconciling");
    },
    async stop(): Promise<void> {
      if (!leading) return;
      leading = false;
      metrics.leader.set(0);
      const [first, ...rest] = w.controllers;
      await first?.controller.stop();
      await Promise.all(rest.map((c) => c.controller.stop()));
    },
  };
}

/** Starts an operator against the cluster in `kubeConfig`; resolves once its caches have synced. */
export async function startOperator(
  input: OperatorConfigInput,
  kubeConfig: KubeConfig,
  options: StartOptions = {},
): Promise<OperatorHandle> {
  const config = parseOperatorConfig(input);
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger("vireo-operator", { level: config.logLevel });
  // Counts read the VM cache at scrape time, once it exists.
  const metrics = createMetrics(() => vmPhases(wiring.caches.allVms()));
  const client = await KubeClient.connect(kubeConfig, Math.max(16, config.workers * 2), (labels, seconds) =>
    metrics.apiRequestDuration.observe(labels, seconds),
  );
  const wiring = wireOperator({ config, client, clock, log, metrics });
  const state = { stopping: false };
  const lead = leadership(wiring, metrics, log, () => state.stopping);
  const elector = leaderElector({ config, clock, log }, wiring.resources, {
    started: () => lead.start(),
    stopped: () => void lead.stop(),
  });
  const http = await serveAndSync(config, wiring, client, metrics, () => state.stopping);
  log.info(
    {
      identity: config.identity,
      namespaces: config.namespaces,
      httpPort: http.port,
      vms: wiring.caches.allVms().length,
    },
    "caches synced",
  );
  if (elector) elector.start();
  else lead.start();
  return operatorHandle({ config, metrics, log, wiring, client, http, lead, elector, state });
}

/** Serves /metrics and the probes, then syncs the caches; on failure closes what it opened. */
async function serveAndSync(
  config: OperatorConfig,
  wiring: Wiring,
  client: KubeClient,
  metrics: OperatorMetrics,
  stopping: () => boolean,
): Promise<HttpEndpoint> {
  const { caches } = wiring;
  let http: HttpEndpoint | undefined;
  try {
    http = await serveHttp(config.metricsHost, config.metricsPort, {
      registry: metrics.registry,
      healthy: () => !stopping(),
      ready: () => caches.synced && !stopping(),
    });
    await caches.start();
    // Not awaited: an operator installed without the pool or DataVolume CRD still runs VMs.
    for (const o of wiring.optional) void o.start();
    return http;
  } catch (err) {
    await caches.stop();
    await http?.close();
    client.close();
    throw err;
  }
}

/** What {@link operatorHandle} stops, in its order. */
interface Running {
  config: OperatorConfig;
  metrics: OperatorMetrics;
  log: Logger;
  wiring: Wiring;
  client: KubeClient;
  http: HttpEndpoint;
  lead: ReturnType<typeof leadership>;
  elector: ReturnType<typeof leaderElector>;
  state: { stopping: boolean };
}

/** The handle of a started operator; `stop()` drains before it lets the lease go. */
function operatorHandle(r: Running): OperatorHandle {
  const { config, metrics, log, wiring, client, http, lead, elector, state } = r;
  return {
    config,
    httpPort: http.port,
    metrics,
    isLeader: () => lead.leading,
    async stop() {
      if (state.stopping) return;
      state.stopping = true;
      log.info("stopping: draining reconciles");
      // Finish in-flight reconciles before the lease goes, so the next leader never overlaps with this one.
      await lead.stop();
      await elector?.stop();
      await wiring.events.flush(2_000);
      await wiring.caches.stop();
      for (const o of wiring.optional) await o.stop();
      await http.close();
      client.close();
      log.info("stopped");
    },
  };
}
