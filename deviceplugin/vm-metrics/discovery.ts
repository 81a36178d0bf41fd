/**
 * Pure: which launcher sockets on this node to read, and whose they are, from directory names the kubelet
 * alone creates.
 *
 * Trust comes from the layout, not from the launcher. The kubelet makes `<podsDir>/<pod UID>/` and, inside
 * it, one directory per emptyDir volume; a container sees only its own volumes, so a socket found in pod
 * U's `run` volume was made by a process of pod U. The kubelet also makes `<podLogsDir>/<namespace>_<pod
 * name>_<pod UID>/`; namespaces and pod names are DNS names, which cannot hold `_`, so that name maps the
 * UID to its namespace and name without an API token. A pod in namespace A can therefore only ever be
 * labelled namespace A, whatever its exposition claims.
 */
import type { PodIdentity } from "./exposition.ts";

/** The launcher pod's emptyDir that holds its sockets (operator/pod/build.ts mounts it at the run dir). */
export const RUN_VOLUME = "run";
/** Where the kubelet keeps a pod's emptyDir volumes, relative to the pod's directory. */
export const EMPTY_DIR_PLUGIN_DIR = "volumes/kubernetes.io~empty-dir";

/** One launcher to read: its socket as this process sees it, and who it is. */
export interface MetricsTarget extends PodIdentity {
  uid: string;
  socketPath: string;
}

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses a kubelet pod log directory name `<namespace>_<name>_<uid>`; undefined for anything else. */
export function parsePodLogDir(entry: string): (PodIdentity & { uid: string }) | undefined {
  const parts = entry.split("_");
  if (parts.length !== 3) return undefined;
  const [namespace, pod, uid] = parts as [string, string, string];
  if (!DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(pod) || !UID.test(uid)) return undefined;
  return { namespace, pod, uid };
}

/**
 * The targets: pod UIDs that have a directory under `podsDir` and a log directory naming them. A UID
 * named by two log directories is ambiguous and skipped (the kubelet never does that; a stale copy might).
 */
export function metricsTargets(
  podsDir: string,
  podUids: readonly string[],
  logDirs: readonly string[],
  socketName: string,
): MetricsTarget[] {
  const who = new Map<string, PodIdentity | null>();
  for (const entry of logDirs) {
    const p = parsePodLogDir(entry);
    if (p) who.set(p.uid, who.has(p.uid) ? null : { namespace: p.namespace, pod: p.pod });
  }
  const targets: MetricsTarget[] = [];
  for (const uid of [...podUids].sort()) {
    const id = who.get(uid);
    if (!UID.test(uid) || !id) continue;
    targets.push({
      uid,
      ...id,
      socketPath: `${podsDir.replace(/\/+$/, "")}/${uid}/${EMPTY_DIR_PLUGIN_DIR}/${RUN_VOLUME}/${socketName}`,
    });
  }
  return targets;
}
