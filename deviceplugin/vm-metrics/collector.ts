/**
 * The node's VM-metrics collector: on each scrape, reads every launcher on this node over the unix socket
 * in its own `run` volume and serves them as one exposition, each series labelled with the namespace and
 * pod the kubelet's directories name (discovery.ts). It holds no API credentials and writes nothing.
 *
 * Why a node collector: with the bridge binding (the default) the pod IP belongs to the guest, so
 * Prometheus cannot reach a launcher's :9100; KubeVirt's virt-handler solves this the same way.
 */
import { readdir } from "node:fs/promises";
import { METRICS_SOCKET_NAME } from "../../crds/contract/index.ts";
import { metricsTargets, type MetricsTarget } from "./discovery.ts";
import { ExpositionError, mergeExpositions, relabelExposition, type Family } from "./exposition.ts";
import { readMetricsSocket, ReadSocketError, type ReadLimits } from "./read-socket.ts";

/** Where the collector looks (as this process sees the node's directories) and its bounds. */
export interface VmMetricsOptions {
  /** The kubelet's pods directory (`/var/lib/kubelet/pods`). */
  podsDir: string;
  /** The kubelet's pod log directory (`/var/log/pods`). */
  podLogsDir: string;
  /** Per launcher; a slow launcher costs its own series, not the scrape. */
  limits?: ReadLimits;
  /** Launchers read at once. */
  concurrency?: number;
}

/** Outcome of one launcher's read, for the collector's own counters. */
export type SourceResult = "success" | "absent" | "refused" | "invalid" | "conflict";

/** What one collection did. */
export interface Collection {
  text: string;
  results: { target: MetricsTarget; result: SourceResult; error?: string }[];
}

/** Default bounds: a launcher's exposition is ~20 KiB; its collector's own deadline is 2 s. */
export const DEFAULT_READ_LIMITS: ReadLimits = { timeoutMs: 3_000, maxBytes: 4 * 2 ** 20 };

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return []; // no pods yet, or the directory is not mounted: nothing to read
  }
}

/** Reads all launchers of this node once. */
export async function collectVmMetrics(options: VmMetricsOptions): Promise<Collection> {
  const [uids, logDirs] = await Promise.all([entries(options.podsDir), entries(options.podLogsDir)]);
  const targets = metricsTargets(options.podsDir, uids, logDirs, METRICS_SOCKET_NAME);
  const limits = options.limits ?? DEFAULT_READ_LIMITS;
  const results: Collection["results"] = [];
  const families: Family[][] = [];
  const queue = [...targets];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      try {
        const text = await readMetricsSocket(t.socketPath, limits);
        families.push(relabelExposition(text, t));
        results.push({ target: t, result: "success" });
      } catch (err) {
        const result: SourceResult =
          err instanceof ExpositionError
            ? "invalid"
            : err instanceof ReadSocketError && err.code === "absent"
              ? "absent"
              : "refused";
        results.push({ target: t, result, error: (err as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  // Sorted so the exposition does not depend on which launcher answered first.
  families.sort((a, b) => (a[0]?.samples[0] ?? "").localeCompare(b[0]?.samples[0] ?? ""));
  const { text, conflicts } = mergeExpositions(families);
  if (conflicts > 0)
    results.push({ target: targets[0]!, result: "conflict", error: `${conflicts} families` });
  // Pods without a socket (not launchers, or not started yet) are the normal case, not an error.
  return { text, results: results.filter((r) => r.result !== "absent") };
}
