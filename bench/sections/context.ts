import type { BenchCluster } from "../lib/cluster.ts";

/** What every section gets from the runner. */
export interface BenchContext {
  /** Smaller counts and shorter waits (smoke runs). */
  quick: boolean;
  /** Run the launcher and operator from the compiled build (`npm run build`), as the images do. */
  dist: boolean;
  /** Also measure a KVM VM (when /dev/kvm is usable). */
  kvm: boolean;
  /** Extra node flags for the launcher process (experiments). */
  launcherNodeArgs: string[];
  /** Another launcher entry point (the bundled build); default bin/vireo-launcher.js. */
  launcherScript?: string;
  /** Extra node flags for the operator process (profiling). */
  operatorNodeArgs: string[];
  /** Seconds to let a booted guest settle before measuring memory. */
  settleSeconds: number;
  /** Start-path runs. */
  startRuns: number;
  /** VMs for the scale section, and how many to hold for the RSS figure. */
  scaleVms: number;
  holdVms: number;
  /** Concurrent create requests from the bench. */
  concurrency: number;
  /** Cap on creations per second in the scale wave; 0 for none. */
  rate: number;
  /** VMs and seconds for the churn section. */
  churnVms: number;
  churnSeconds: number;
  /** The control plane for the scale and churn sections, started on first use and stopped by the runner. */
  cluster(): Promise<BenchCluster>;
  /** Operator worker count (default: the operator's own default). */
  workers?: number;
  /** A new small number for network namespace names. */
  nextId(): number;
  /** Progress lines (stderr). */
  log(line: string): void;
}
