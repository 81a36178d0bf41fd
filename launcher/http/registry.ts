import { Registry } from "prom-client";
import { VmMetricsCollector } from "../metrics/collector.ts";
import { launcherMetricsSource, type LauncherView } from "../metrics/launcher-source.ts";
import { registerVmMetrics } from "../metrics/register.ts";

/** A function that adds collectors to the launcher's registry: the seam for more metrics. */
export type CollectorRegistrar = (registry: Registry, view: LauncherView) => void;

/** The launcher's registry (its series carry the VM's namespace and name themselves). */
export function createRegistry(): Registry {
  return new Registry();
}

/**
 * Registers the per-VM metrics (launcher/metrics: vCPU, memory, block, network, state, collected over QMP
 * and /proc at scrape time), then any extra registrars.
 */
export function registerCollectors(
  registry: Registry,
  view: LauncherView,
  options: { onError?: (source: string, error: unknown) => void; extra?: CollectorRegistrar[] } = {},
): void {
  const collector = new VmMetricsCollector(launcherMetricsSource(view), {
    balloonStatsPollSeconds: view.config.devices.balloon.enabled
      ? view.config.devices.balloon.statsPollSeconds
      : 0,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  registerVmMetrics(registry, collector);
  for (const register of options.extra ?? []) register(registry, view);
}
