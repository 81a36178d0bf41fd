export { VM_LABELS, VM_METRICS, VM_METRIC_NAMES, type MetricSpec, type Sample } from "./catalog.ts";
export {
  METRIC_SOURCES,
  VmMetricsCollector,
  type CollectorOptions,
  type MetricSource,
  type VmSnapshot,
} from "./collector.ts";
export { MetricsDeadlineError, MetricsParseError, type MetricsErrorCode } from "./errors.ts";
export { registerVmMetrics } from "./register.ts";
export type {
  HostFiles,
  MetricsDisk,
  MetricsNic,
  QmpExecute,
  VmIdentity,
  VmMetricsSource,
} from "./source.ts";
export {
  BALLOON_QOM_PATH,
  firmwareLabel,
  launcherMetricsSource,
  type LauncherView,
} from "./launcher-source.ts";
