/** What the operator reads from a launcher pod, projected once so deciding code never digs through V1Pod. */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { ANNOTATION_MIGRATION_TARGET } from "../../crds/contract/migration.ts";
import { z } from "zod";
import {
  MULTUS_NETWORK_STATUS_ANNOTATION,
  ANNOTATION_RESTARTED_AT,
  ANNOTATION_SPEC_HASH,
  ANNOTATION_START_FAILURES,
  LAUNCHER_CONTAINER,
} from "../../crds/contract/index.ts";

/** A launcher pod as the reconciler sees it. */
export interface PodView {
  name: string;
  uid: string;
  /** Pod phase: Pending, Running, Succeeded, Failed or Unknown. */
  phase: string;
  /** deletionTimestamp is set: the pod is going away. */
  terminating: boolean;
  /** The pod's Ready condition is True. */
  ready: boolean;
  /** The launcher container has passed its startup probe (or has none and runs). */
  launcherStarted: boolean;
  /** Init containers (network plumbing, disk copies) are done. */
  initialized: boolean;
  /** The scheduler's message when it cannot place the pod. */
  unschedulable?: string;
  nodeName?: string;
  podIPs: string[];
  /** Annotations the operator wrote at creation. */
  specHash?: string;
  restartedAt?: string;
  startFailures: number;
  /** Milliseconds since the epoch. */
  createdAt?: number;
  /** When the launcher container started running. */
  startedAt?: number;
  /** When the launcher (or the init container that failed) finished. */
  finishedAt?: number;
  /** A container stuck waiting for a reason worth reporting (image pull, bad config). */
  waiting?: { reason: string; message?: string };
  /** How the pod ended (for Failed and Succeeded pods). */
  termination?: { exitCode?: number; reason?: string; message?: string };
  /**
   * Signs that the pod's node stopped answering, as the control plane writes them (the kubelet cannot):
   * `NotReady` when the node lifecycle controller marked the pod not ready (Ready=False while ContainersReady
   * stays True — the kubelet always sets both, and launcher pods have no readiness gates); `Evicted` when the
   * taint manager began deleting it for an unreachable or not-ready node (DisruptionTarget).
   */
  nodeLost?: "NotReady" | "Evicted";
  /** Multus' network-status annotation: each attachment's pod interface, MAC and IPs. */
  networkStatus?: NetworkAttachment[];
  /** A live migration's target pod: the migration's name (operator/migration/adoption.ts). */
  migrationTarget?: string;
}

/** One entry of Multus' `k8s.v1.cni.cncf.io/network-status` annotation, as far as status needs it. */
const networkAttachmentSchema = z.object({
  name: z.string().min(1).max(512),
  interface: z.string().max(64).optional(),
  ips: z.array(z.string().max(64)).max(16).optional(),
  mac: z.string().max(64).optional(),
  default: z.boolean().optional(),
});

/** One entry of Multus' network-status annotation. */
export type NetworkAttachment = z.infer<typeof networkAttachmentSchema>;

/** The network-status annotation's entries; undefined when absent or not what Multus writes. */
function networkStatusOf(annotations: Record<string, string>): NetworkAttachment[] | undefined {
  const raw = annotations[MULTUS_NETWORK_STATUS_ANNOTATION];
  if (!raw || raw.length > 65_536) return undefined;
  try {
    const r = z.array(networkAttachmentSchema).max(32).safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Cached objects carry strings (watch) or Dates (typed lists); both become milliseconds. */
export function toMillis(t: unknown): number | undefined {
  if (t instanceof Date) return t.getTime();
  if (typeof t === "string") {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

const REPORTED_WAITING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

function stuck(statuses: V1ContainerStatus[] | undefined): PodView["waiting"] {
  for (const s of statuses ?? []) {
    const w = s.state?.waiting;
    if (w?.reason && REPORTED_WAITING.has(w.reason))
      return { reason: w.reason, ...(w.message ? { message: w.message } : {}) };
  }
  return undefined;
}

function ending(pod: V1Pod): Pick<PodView, "finishedAt" | "termination"> {
  const status = pod.status;
  const launcher = status?.containerStatuses?.find((c) => c.name === LAUNCHER_CONTAINER);
  const failedInit = status?.initContainerStatuses?.find(
    (c) => c.state?.terminated && c.state.terminated.exitCode !== 0,
  );
  const t = launcher?.state?.terminated ?? failedInit?.state?.terminated;
  const message = t?.message?.trim() || status?.message || undefined;
  const reason = t?.reason ?? status?.reason;
  const finishedAt = toMillis(t?.finishedAt);
  return {
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    termination: {
      ...(t?.exitCode !== undefined ? { exitCode: t.exitCode } : {}),
      ...(reason ? { reason } : {}),
      ...(message
        ? { message: failedInit && !launcher?.state?.terminated ? `${failedInit.name}: ${message}` : message }
        : {}),
    },
  };
}

/** Projects a pod (from the informer cache) into a {@link PodView}. Pure. */
export function podView(pod: V1Pod): PodView {
  const meta = pod.metadata ?? {};
  const status = pod.status ?? {};
  const cond = (type: string) => status.conditions?.find((c) => c.type === type);
  const scheduled = cond("PodScheduled");
  const launcher = status.containerStatuses?.find((c) => c.name === LAUNCHER_CONTAINER);
  const ann = meta.annotations ?? {};
  const failures = Number(ann[ANNOTATION_START_FAILURES] ?? 0);
  const createdAt = toMillis(meta.creationTimestamp);
  const startedAt =
    toMillis(launcher?.state?.running?.startedAt) ?? toMillis(launcher?.state?.terminated?.startedAt);
  const phase = status.phase ?? "Pending";
  const finished = phase === "Succeeded" || phase === "Failed";
  const waiting = stuck(status.initContainerStatuses) ?? stuck(status.containerStatuses);
  const networkStatus = networkStatusOf(ann);
  const disruption = cond("DisruptionTarget");
  const nodeLost =
    disruption?.status === "True" && disruption.reason === "DeletionByTaintManager"
      ? ("Evicted" as const)
      : phase === "Running" && cond("Ready")?.status === "False" && cond("ContainersReady")?.status === "True"
        ? ("NotReady" as const)
        : undefined;
  const ips = (status.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => Boolean(ip));
  if (ips.length === 0 && status.podIP) ips.push(status.podIP);
  return {
    name: meta.name ?? "",
    uid: meta.uid ?? "",
    phase,
    terminating: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    ready: cond("Ready")?.status === "True",
    launcherStarted:
      launcher?.started === true || (launcher?.started === undefined && !!launcher?.state?.running),
    initialized: cond("Initialized")?.status !== "False",
    ...(scheduled?.status === "False" && scheduled.reason === "Unschedulable"
      ? { unschedulable: scheduled.message ?? "the pod cannot be scheduled" }
      : {}),
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    podIPs: ips,
    ...(ann[ANNOTATION_SPEC_HASH] ? { specHash: ann[ANNOTATION_SPEC_HASH] } : {}),
    ...(ann[ANNOTATION_RESTARTED_AT] !== undefined ? { restartedAt: ann[ANNOTATION_RESTARTED_AT] } : {}),
    startFailures: Number.isInteger(failures) && failures >= 0 ? failures : 0,
    ...(createdAt !== undefined ? { createdAt } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(waiting ? { waiting } : {}),
    ...(finished ? ending(pod) : {}),
    ...(networkStatus ? { networkStatus } : {}),
    ...(nodeLost ? { nodeLost } : {}),
    ...(ann[ANNOTATION_MIGRATION_TARGET] ? { migrationTarget: ann[ANNOTATION_MIGRATION_TARGET] } : {}),
  };
}
