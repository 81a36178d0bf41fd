/**
 * `startOperator`: wires caches, the work queue, the reconciler, leader election, metrics and health into one
 * running operator, in-process (tests, embedding) or behind the `vireo-operator` binary.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { createLogger } from "../lib/log.ts";
import {
  parseOperatorConfig,
  reconcileSettings,
  type OperatorConfig,
  type OperatorConfigInput,
} from "./config.ts";
import { Controller } from "./controller.ts";
import { DataVolumeController } from "./datavolume/controller.ts";
import { dataVolumeNamesOf } from "./datavolume/vm-disks.ts";
import { Caches } from "./kube/caches.ts";
import { KubeClient } from "./kube/client.ts";
import { EventRecorder } from "./kube/events.ts";
import { KubeResources } from "./kube/resources.ts";
import { LeaseElector } from "./leader/lease-elector.ts";
import { Reconciler } from "./reconcile/reconciler.ts";
import { PoolController } from "./pool/controller.ts";
import { ProfileResolver } from "./instancetype/resolver.ts";
import { systemClock, type Clock } from "../lib/clock.ts";
import { serveHttp, type HttpEndpoint } from "./runtime/http.ts";
import { createMetrics, type OperatorMetrics } from "./runtime/metrics.ts";

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
  const metrics = createMetrics(() => {
    const counts = new Map<string, number>();
    for (const vm of caches.allVms()) {
      const phase = (vm.status as { phase?: string } | undefined)?.phase ?? "Unknown";
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
    return counts;
  });
  const client = await KubeClient.connect(kubeConfig, Math.max(16, config.workers * 2), (labels, seconds) =>
    metrics.apiRequestDuration.observe(labels, seconds),
  );
  const resources = new KubeResources(client);

  let leading = false;
  let stopping = false;

  const caches: Caches = new Caches(client, config.namespaces, clock, log, {
    enqueue: (key) => controller.add(key),
    vmCreated: (key) => reconciler.markStart(key),
  });
  const events = new EventRecorder({
    resources,
    identity: config.identity,
    clock,
    log,
    onDropped: () => metrics.eventsDroppedTotal.inc(),
  });
  const dataVolumes = new DataVolumeController({
    client,
    resources,
    events,
    clock,
    log: log.child({ controller: "datavolume" }),
    namespaces: config.namespaces,
    podSettings: {
      image: config.launcherImage,
      imagePullPolicy: config.launcherImagePullPolicy,
      ...(config.launcherImagePullSecrets.length
        ? { imagePullSecrets: [...config.launcherImagePullSecrets] }
        : {}),
    },
    enqueue: (key) => dvController.add(key),
    // A DataVolume's progress wakes the VMs that wait for it.
    changed: (dv) => {
      for (const vm of caches.allVms())
        if (
          vm.metadata.namespace === dv.metadata.namespace &&
          dataVolumeNamesOf(vm.spec).includes(dv.metadata.name ?? "")
        )
          controller.add(`${vm.metadata.namespace}/${vm.metadata.name}`);
    },
  });
  const reconciler = new Reconciler({
    dataVolumes,
    caches,
    resources,
    profiles: new ProfileResolver(client),
    events,
    metrics,
    clock,
    settings: reconcileSettings(config),
  });

  const controller = new Controller({
    reconcile: (key, rlog) => reconciler.reconcile(key, rlog),
    workers: config.workers,
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    clock,
    log,
    metrics,
  });

  const pools = new PoolController({
    client,
    events,
    clock,
    log: log.child({ controller: "pool" }),
    namespaces: config.namespaces,
    enqueue: (key) => poolController.add(key),
  });
  const poolController = new Controller({
    reconcile: (key, rlog) => pools.reconcile(key, rlog),
    workers: 1,
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    clock,
    log: log.child({ controller: "pool" }),
    metrics,
  });

  const dvController = new Controller({
    reconcile: (key, rlog) => dataVolumes.reconcile(key, rlog),
    workers: Math.max(1, Math.ceil(config.workers / 2)),
    retryBaseMs: config.retryBaseMs,
    retryMaxMs: config.retryMaxMs,
    clock,
    log: log.child({ controller: "datavolume" }),
    metrics,
  });

  function startLeading(): void {
    if (stopping || leading) return;
    leading = true;
    metrics.leader.set(1);
    poolController.start(pools.keys());
    dvController.start(dataVolumes.keys());
    controller.start(caches.allVms().map((vm) => `${vm.metadata.namespace}/${vm.metadata.name}`));
    log.info({ vms: controller.depth, workers: config.workers }, "leading: reconciling");
  }

  async function stopLeading(): Promise<void> {
    if (!leading) return;
    leading = false;
    metrics.leader.set(0);
    await poolController.stop();
    await Promise.all([controller.stop(), dvController.stop()]);
  }

  const elector = config.leaderElect
    ? new LeaseElector({
        store: {
          get: () => resources.getLease(config.leaseNamespace, config.leaseName),
          create: (l) => resources.createLease(l),
          update: (l) => resources.updateLease(l),
        },
        namespace: config.leaseNamespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationMs: config.leaseDurationSeconds * 1000,
        renewDeadlineMs: config.renewDeadlineSeconds * 1000,
        retryPeriodMs: config.retryPeriodSeconds * 1000,
        clock,
        log,
        onStartedLeading: startLeading,
        onStoppedLeading: () => void stopLeading(),
      })
    : undefined;

  let http: HttpEndpoint | undefined;
  try {
    http = await serveHttp(config.metricsHost, config.metricsPort, {
      registry: metrics.registry,
      healthy: () => !stopping,
      ready: () => caches.synced && !stopping,
    });
    await caches.start();
    // Not awaited: an operator installed without the pool CRD still runs VMs.
    void pools.start();
    // Not awaited: an operator installed without the DataVolume CRD still runs VMs (their DataVolumes wait).
    void dataVolumes.start();
  } catch (err) {
    await caches.stop();
    await http?.close();
    client.close();
    throw err;
  }
  log.info(
    {
      identity: config.identity,
      namespaces: config.namespaces,
      httpPort: http.port,
      vms: caches.allVms().length,
    },
    "caches synced",
  );
  if (elector) elector.start();
  else startLeading();

  const endpoint = http;
  return {
    config,
    httpPort: endpoint.port,
    metrics,
    isLeader: () => leading,
    async stop() {
      if (stopping) return;
      stopping = true;
      log.info("stopping: draining reconciles");
      // Finish in-flight reconciles before the lease goes, so the next leader never overlaps with this one.
      await stopLeading();
      await elector?.stop();
      await events.flush(2_000);
      await caches.stop();
      await pools.stop();
      await dataVolumes.stop();
      await endpoint.close();
      client.close();
      log.info("stopped");
    },
  };
}
