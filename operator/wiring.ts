/**
 * The operator's parts, wired: the VM caches and reconciler, the DataVolume and pool controllers, each with
 * its queue and workers (controller.ts), the event recorder, and the leader elector. `startOperator` only
 * starts and stops what this builds.
 */
import type { Logger } from "pino";
import type { Clock } from "../lib/clock.ts";
import { reconcileSettings, type OperatorConfig } from "./config.ts";
import { Controller, type ControllerOptions } from "./controller.ts";
import { DataVolumeController } from "./datavolume/controller.ts";
import { dataVolumeNamesOf } from "./datavolume/vm-disks.ts";
import { diskResizerOver } from "./datavolume/resizer.ts";
import { ProfileResolver } from "./instancetype/resolver.ts";
import { Caches } from "./kube/caches.ts";
import type { KubeClient } from "../lib/kube/client.ts";
import { EventRecorder } from "./kube/events.ts";
import { KubeResources } from "./kube/resources.ts";
import { LeaseElector } from "./leader/lease-elector.ts";
import { PoolController } from "./pool/controller.ts";
import { AgentReader } from "./agent/reader.ts";
import { Reconciler } from "./reconcile/reconciler.ts";
import { podsExec } from "./migration/exec.ts";
import { migrationMetrics } from "./migration/metrics.ts";
import { MigrationInformers, migrationReconcile } from "./migration/run.ts";
import type { OperatorMetrics } from "./runtime/metrics.ts";

/** What the parts share. */
export interface WiringDeps {
  config: OperatorConfig;
  client: KubeClient;
  clock: Clock;
  log: Logger;
  metrics: OperatorMetrics;
}

/** A controller that runs while this instance leads, with the keys it starts from. */
export interface LeaderController {
  controller: Controller;
  keys(): string[];
}

/** The wired operator. */
export interface Wiring {
  resources: KubeResources;
  caches: Caches;
  events: EventRecorder;
  /** The VM controller (also among `controllers`). */
  vms: Controller;
  /** In the order they start: pools first, which also stop first (they create VMs), then the others together. */
  controllers: LeaderController[];
  /** Informers of optional CRDs, started without waiting: an install without them still runs VMs. */
  optional: { start(): Promise<void>; stop(): Promise<void> }[];
}

/** Builds every part; nothing runs until the caller starts it. */
export function wireOperator(d: WiringDeps): Wiring {
  const { config, client, clock, log, metrics } = d;
  const resources = new KubeResources(client);
  const queue = controllerFactory(d);
  // The callbacks name controllers made below: they run only once the caches start.
  const caches: Caches = new Caches(client, config.namespaces, clock, log, {
    enqueue: (key) => vms.add(key),
    vmCreated: (key) => reconciler.markStart(key),
  });
  const events = eventRecorder(d, resources);
  const dataVolumes = dataVolumeController(d, resources, events, {
    // Online disk resize: claims that grew under running VMs (operator/datavolume/resizer.ts).
    companions: [
      diskResizerOver(caches, {
        events,
        log: log.child({ part: "disk-resizer" }),
        kubeConfig: client.kubeConfig,
      }),
    ],
    enqueue: (key) => dvs.add(key),
    // A DataVolume's progress wakes the VMs that wait for it.
    changed: (dv) => {
      for (const key of vmsUsing(caches, dv)) vms.add(key);
    },
  });
  // Only the leader reads: every read is a pods/exec, and only the leader reconciles what it learns.
  const agent = agentReader(
    d,
    caches,
    (key) => vms.add(key),
    () => vms.running,
  );
  const reconciler = new Reconciler({
    agent,
    dataVolumes,
    caches,
    resources,
    profiles: new ProfileResolver(client),
    events,
    metrics,
    clock,
    settings: reconcileSettings(config),
  });
  const pools = new PoolController({
    client,
    events,
    clock,
    log: log.child({ controller: "pool" }),
    namespaces: config.namespaces,
    enqueue: (key) => poolQueue.add(key),
  });
  const vms = queue((key, rlog) => reconciler.reconcile(key, rlog), config.workers);
  const dvs = queue(
    (key, rlog) => dataVolumes.reconcile(key, rlog),
    Math.max(1, Math.ceil(config.workers / 2)),
    "datavolume",
  );
  const poolQueue = queue((key, rlog) => pools.reconcile(key, rlog), 1, "pool");
  const migrations = migrationParts(d, events);
  const controllers: LeaderController[] = [
    { controller: poolQueue, keys: () => pools.keys() },
    { controller: dvs, keys: () => dataVolumes.keys() },
    { controller: vms, keys: () => caches.allVms().map(vmKey) },
    { controller: migrations.queue, keys: () => migrations.informers.keys() },
  ];
  const optional = [pools, dataVolumes, agent, migrations.informers];
  return { resources, caches, events, vms, controllers, optional };
}

/** Live migration (operator/migration): informers on VirtualMachineMigrations and their queue. */
function migrationParts(d: WiringDeps, events: EventRecorder) {
  const { config, client, clock, log, metrics } = d;
  const queue = controllerFactory(d)(
    migrationReconcile({
      client,
      clock,
      defaultBinding: config.defaultBinding,
      exec: podsExec(client.kubeConfig),
      events,
      metrics: migrationMetrics(metrics.registry),
    }),
    1,
    "migration",
  );
  const informers = new MigrationInformers({
    client,
    clock,
    log: log.child({ controller: "migration" }),
    namespaces: config.namespaces,
    enqueue: (key) => queue.add(key),
  });
  return { queue, informers };
}

/** Reads the guest agent reports of running launcher pods (operator/agent/reader.ts). */
function agentReader(
  d: WiringDeps,
  caches: Caches,
  enqueue: (key: string) => void,
  leading: () => boolean,
): AgentReader {
  return new AgentReader({
    kubeConfig: d.client.kubeConfig,
    log: d.log.child({ part: "agent-reader" }),
    enqueue,
    intervalMs: d.config.agentReadSeconds * 1000,
    running: () =>
      (leading() ? caches.allVms() : []).flatMap((vm) => {
        const key = vmKey(vm);
        const pod = caches
          .podsOf(key, vm.metadata.uid)
          .find((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
        return pod ? [{ key, pod }] : [];
      }),
  });
}

/** Makes a controller (queue and workers) with the operator's retry settings, clock, log and metrics. */
function controllerFactory(d: WiringDeps) {
  const { config, clock, log, metrics } = d;
  return (reconcile: ControllerOptions["reconcile"], workers: number, name?: string): Controller =>
    new Controller({
      reconcile,
      workers,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      clock,
      log: name ? log.child({ controller: name }) : log,
      metrics,
    });
}

/** The Event recorder; a dropped Event is counted, never waited for. */
function eventRecorder(d: WiringDeps, resources: KubeResources): EventRecorder {
  return new EventRecorder({
    resources,
    identity: d.config.identity,
    clock: d.clock,
    log: d.log,
    onDropped: () => d.metrics.eventsDroppedTotal.inc(),
  });
}

/** A VM's queue key. */
function vmKey(vm: { metadata: { namespace?: string; name?: string } }): string {
  return `${vm.metadata.namespace}/${vm.metadata.name}`;
}

/** The keys of the cached VMs whose disks name the DataVolume `dv`. */
function vmsUsing(caches: Caches, dv: { metadata: { namespace?: string; name?: string } }): string[] {
  return caches
    .allVms()
    .filter(
      (vm) =>
        vm.metadata.namespace === dv.metadata.namespace &&
        dataVolumeNamesOf(vm.spec).includes(dv.metadata.name ?? ""),
    )
    .map(vmKey);
}

/** The DataVolume controller, its importer pods made with the launcher image's settings. */
function dataVolumeController(
  d: WiringDeps,
  resources: KubeResources,
  events: EventRecorder,
  on: Pick<ConstructorParameters<typeof DataVolumeController>[0], "enqueue" | "changed" | "companions">,
): DataVolumeController {
  const { config } = d;
  return new DataVolumeController({
    client: d.client,
    resources,
    events,
    clock: d.clock,
    log: d.log.child({ controller: "datavolume" }),
    namespaces: config.namespaces,
    podSettings: {
      image: config.launcherImage,
      imagePullPolicy: config.launcherImagePullPolicy,
      ...(config.launcherImagePullSecrets.length
        ? { imagePullSecrets: [...config.launcherImagePullSecrets] }
        : {}),
    },
    ...on,
  });
}

/** The leader elector of `config` (undefined with leader election off), calling back on gaining and losing. */
export function leaderElector(
  d: Pick<WiringDeps, "config" | "clock" | "log">,
  resources: KubeResources,
  on: { started(): void; stopped(): void },
): LeaseElector | undefined {
  const { config } = d;
  if (!config.leaderElect) return undefined;
  return new LeaseElector({
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
    clock: d.clock,
    log: d.log,
    onStartedLeading: on.started,
    onStoppedLeading: on.stopped,
  });
}
