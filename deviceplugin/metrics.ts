/** prom-client metrics of the device plugin, on their own registry (served on the health port). */
import { Counter, Gauge, Registry } from "prom-client";

/** The device plugin's metrics. */
export class DevicePluginMetrics {
  /** Registry holding only these metrics. */
  readonly registry = new Registry();
  readonly #devices = new Gauge({
    name: "vireo_deviceplugin_devices",
    help: "Advertised device slots by resource and health.",
    labelNames: ["resource", "health"],
    registers: [this.registry],
  });
  readonly #registrations = new Counter({
    name: "vireo_deviceplugin_registrations_total",
    help: "Registration attempts with the kubelet, by resource and result.",
    labelNames: ["resource", "result"],
    registers: [this.registry],
  });
  readonly #allocations = new Counter({
    name: "vireo_deviceplugin_allocations_total",
    help: "Allocate calls answered, by resource and result.",
    labelNames: ["resource", "result"],
    registers: [this.registry],
  });

  readonly #vmSources = new Counter({
    name: "vireo_deviceplugin_vm_metrics_reads_total",
    help: "Launcher metrics sockets read for /vm-metrics, by result (success, refused, invalid, conflict).",
    labelNames: ["result"],
    registers: [this.registry],
  });

  /** Counts one launcher read of the VM-metrics collector. */
  vmMetricsRead(result: string): void {
    this.#vmSources.inc({ result });
  }

  /** Records the advertised slots of one resource. */
  setHealth(resource: string, healthy: boolean, slots: number): void {
    this.#devices.set({ resource, health: "Healthy" }, healthy ? slots : 0);
    this.#devices.set({ resource, health: "Unhealthy" }, healthy ? 0 : slots);
  }

  /** Counts one registration attempt. */
  registration(resource: string, result: "success" | "error"): void {
    this.#registrations.inc({ resource, result });
  }

  /** Counts one Allocate call. */
  allocation(resource: string, result: "success" | "error"): void {
    this.#allocations.inc({ resource, result });
  }
}
