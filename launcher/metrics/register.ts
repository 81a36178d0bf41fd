import { Counter, Gauge, type Registry } from "prom-client";
import { VM_LABELS, VM_METRICS, type MetricSpec } from "./catalog.ts";
import type { VmMetricsCollector, VmSnapshot } from "./collector.ts";

/**
 * Registers every launcher metric on `registry`. Values are gathered when the registry is read: each
 * metric's collect() joins the collector's single in-flight collection, so one scrape costs one round of
 * QMP and procfs reads and ends within the collector's deadline.
 */
export function registerVmMetrics(registry: Registry, collector: VmMetricsCollector): void {
  for (const spec of VM_METRICS) register(registry, collector, spec);
}

function register(registry: Registry, collector: VmMetricsCollector, spec: MetricSpec): void {
  const labelNames = [...VM_LABELS, ...spec.labels];
  // Each scrape replaces every series: a NIC or disk that went away (or a QEMU that exited) leaves none
  // behind, and the values are the source's own cumulative totals.
  const fill = (snapshot: VmSnapshot, set: (labels: Record<string, string>, value: number) => void): void => {
    const vm = { namespace: snapshot.identity.namespace, name: snapshot.identity.name };
    for (const sample of spec.samples(snapshot)) set({ ...vm, ...sample.labels }, sample.value);
  };
  if (spec.type === "counter") {
    new Counter({
      name: spec.name,
      help: spec.help,
      labelNames,
      registers: [registry],
      async collect() {
        const snapshot = await collector.collect();
        this.reset();
        // prom-client counters only go up; from zero, inc() sets the source's total.
        fill(snapshot, (labels, value) => this.inc(labels, value));
      },
    });
  } else {
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames,
      registers: [registry],
      async collect() {
        const snapshot = await collector.collect();
        this.reset();
        fill(snapshot, (labels, value) => this.set(labels, value));
      },
    });
  }
}
