/** The operator's Prometheus metrics, on a registry of its own (two operators can share a test process). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Reconcile outcomes, the `result` label of `vireo_operator_reconcile_total`. */
export type ReconcileResult = "success" | "requeue" | "error" | "terminal";

/** Buckets fine enough to see sub-second starts and still cover slow ones (KubeVirt's start at 10 s). */
export const START_LATENCY_BUCKETS = [
  0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600,
];

/** API request latency buckets: mostly sub-second (a healthy API server answers in milliseconds). */
export const API_REQUEST_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Metric handles. */
export interface OperatorMetrics {
  registry: Registry;
  reconcileTotal: Counter<"result">;
  reconcileDuration: Histogram<"result">;
  queueDepth: Gauge;
  retriesTotal: Counter;
  vmsByPhase: Gauge<"phase">;
  leader: Gauge;
  startLatency: Histogram;
  apiErrorsTotal: Counter<"verb">;
  apiRequestDuration: Histogram<"verb" | "resource" | "code">;
  eventsDroppedTotal: Counter;
}

/** Creates the metrics; `vmPhases` is read at scrape time from the VM cache. */
export function createMetrics(vmPhases: () => Map<string, number>): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Registered in this order, which is the order of the exposition.
  return {
    registry,
    ...reconcileMetrics(registry),
    ...queueMetrics(registry),
    ...vmMetrics(registry, vmPhases),
    ...apiMetrics(registry),
  };
}

/** How reconciles end and how long they take; every result starts at 0 so rates exist from the first scrape. */
function reconcileMetrics(registry: Registry): Pick<OperatorMetrics, "reconcileTotal" | "reconcileDuration"> {
  const reconcileTotal = new Counter({
    name: "vireo_operator_reconcile_total",
    help: "Reconciles by result: success, requeue (asked to look again later), error (retried), terminal.",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  for (const r of ["success", "requeue", "error", "terminal"] as const) reconcileTotal.inc({ result: r }, 0);
  return {
    reconcileTotal,
    reconcileDuration: new Histogram({
      name: "vireo_operator_reconcile_duration_seconds",
      help: "Time one reconcile took, API calls included.",
      labelNames: ["result"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** The work queue: its depth and its back-off retries. */
function queueMetrics(registry: Registry): Pick<OperatorMetrics, "queueDepth" | "retriesTotal"> {
  return {
    queueDepth: new Gauge({
      name: "vireo_operator_workqueue_depth",
      help: "VM keys waiting to be reconciled.",
      registers: [registry],
    }),
    retriesTotal: new Counter({
      name: "vireo_operator_workqueue_retries_total",
      help: "Reconciles re-queued with back-off after an error.",
      registers: [registry],
    }),
  };
}

/** The VMs by phase (read at scrape time), leadership and start latency. */
function vmMetrics(
  registry: Registry,
  vmPhases: () => Map<string, number>,
): Pick<OperatorMetrics, "vmsByPhase" | "leader" | "startLatency"> {
  return {
    vmsByPhase: new Gauge({
      name: "vireo_operator_vms",
      help: "VirtualMachines by status.phase, as the operator's cache sees them.",
      labelNames: ["phase"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [phase, n] of vmPhases()) this.set({ phase }, n);
      },
    }),
    leader: new Gauge({
      name: "vireo_operator_leader",
      help: "1 while this replica holds the leader lease.",
      registers: [registry],
    }),
    startLatency: new Histogram({
      name: "vireo_operator_vm_start_to_running_seconds",
      help: "Time from a VM's creation (or a start request) seen by the operator to the VM reported Running.",
      buckets: START_LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}

/** The operator's Kubernetes API traffic: failed writes, request latency, Events it could not record. */
function apiMetrics(
  registry: Registry,
): Pick<OperatorMetrics, "apiErrorsTotal" | "apiRequestDuration" | "eventsDroppedTotal"> {
  return {
    apiErrorsTotal: new Counter({
      name: "vireo_operator_api_errors_total",
      help: "Failed Kubernetes API writes by verb.",
      labelNames: ["verb"] as const,
      registers: [registry],
    }),
    apiRequestDuration: new Histogram({
      name: "vireo_operator_api_request_duration_seconds",
      help: "Kubernetes API requests of the operator's client (watches excepted) by verb, resource and HTTP code (error: no answer).",
      labelNames: ["verb", "resource", "code"] as const,
      buckets: API_REQUEST_BUCKETS,
      registers: [registry],
    }),
    eventsDroppedTotal: new Counter({
      name: "vireo_operator_events_dropped_total",
      help: "Kubernetes Events not recorded because the event backlog was full or the write failed.",
      registers: [registry],
    }),
  };
}
