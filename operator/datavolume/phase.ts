/**
 * The DataVolume's decisions, pure: from the DataVolume, its claim and its importer pod as observed, what to
 * create or delete, what status to write and what to tell in Events. Phases follow CDI: Pending →
 * ImportScheduled → ImportInProgress → Succeeded | Failed (UploadReady while an upload server waits).
 * A failed import is terminal unless its reason is transient (the server did not answer, HTTP 5xx); those are
 * retried with a capped exponential back-off measured from the pod's end, never in a hot loop.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { DataVolume, DataVolumeStatus } from "../../crds/api/datavolume.ts";
import type { VmEvent } from "../kube/events.ts";
import { buildConditions, type ConditionInput } from "../reconcile/conditions.ts";
import type { ImportResult } from "../../crds/importer/config.ts";
import { buildDataVolumeClaim } from "./claim.ts";
import { buildImporterPod, type ImporterPodInputs } from "./importer-pod.ts";

/** The claim as the controller sees it. */
export interface ClaimView {
  uid: string;
  ownedByDv: boolean;
  phase?: string;
  capacityBytes?: number;
}

/** The importer pod as the controller sees it. */
export interface ImporterView {
  uid: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** The container's termination message, parsed. */
  result?: ImportResult;
  /** Why the container waits or ended without a result (ErrImagePull, OOMKilled …). */
  stateReason?: string;
  stateMessage?: string;
  finishedAt?: number;
}

/** A clone's source claim. */
export interface SourceClaimView {
  found: boolean;
  volumeMode?: "Filesystem" | "Block";
  /** A running launcher pod has it open (a live disk cannot be copied consistently). */
  inUseBy?: string;
}

/** Everything decide needs besides the DataVolume. */
export interface DvObserved {
  now: number;
  claim?: ClaimView;
  pod?: ImporterView;
  /** Percent polled from the running importer. */
  progress?: number;
  source?: SourceClaimView;
  podSettings: Omit<ImporterPodInputs, "capacityBytes" | "sourceVolumeMode">;
}

/** What to do. */
export type DvAction =
  | { kind: "createClaim"; claim: V1PersistentVolumeClaim }
  | { kind: "createPod"; pod: V1Pod }
  | { kind: "deletePod"; uid: string; reason: string };

/** The outcome of one decision. */
export interface DvDecision {
  actions: DvAction[];
  status: DataVolumeStatus;
  events: VmEvent[];
  requeueAfterMs?: number;
}

/** Reasons worth another try: the source may answer later. */
export const RETRYABLE = new Set(["Unreachable", "DownloadFailed", "HttpError5xx"]);
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** How often a running import's progress is polled. */
export const PROGRESS_POLL_MS = 3_000;

/** Back-off before retry number `restarts + 1`. */
export function retryDelayMs(restarts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(restarts, 10));
}

/** The failure's retry class: HTTP 5xx is transient, 4xx is not. */
function retryClass(r: ImportResult): string {
  if (r.reason === "HttpError" && / HTTP 5\d\d/.test(r.message)) return "HttpError5xx";
  return r.reason;
}

type Phase = NonNullable<DataVolumeStatus["phase"]>;
/** Writes the decision's status (conditions, phase Events) into `out` and returns it. */
type Finish = (phase: Phase, progress: string, running: ConditionInput, ready: ConditionInput) => DvDecision;

const notRunning = (reason: string, message: string): ConditionInput => ({
  type: "Running",
  status: "False",
  reason,
  message,
});
const notReady = (reason: string, message: string): ConditionInput => ({
  type: "Ready",
  status: "False",
  reason,
  message,
});
const requeue = (d: DvDecision, ms: number): DvDecision => ({ ...d, requeueAfterMs: ms });

/** Decides for one DataVolume: the claim, then a clone's source, then the importer pod, in that order. */
export function decideDataVolume(dv: DataVolume, o: DvObserved): DvDecision {
  const out: DvDecision = { actions: [], status: {}, events: [] };
  const finish = finisher(dv, o, out);
  const prev = dv.status;
  if (prev?.phase === "Succeeded") {
    // Done once: the disk is the user's now. A leftover importer pod goes (it holds the claim on its node).
    if (o.pod) out.actions.push({ kind: "deletePod", uid: o.pod.uid, reason: "import done" });
    return finish("Succeeded", "100%", notRunning("Completed", "import completed"), {
      type: "Ready",
      status: "True",
      reason: "Succeeded",
      message: prev.conditions?.find((c) => c.type === "Ready")?.message ?? "import succeeded",
    });
  }
  return (
    claimStep(dv, o, out, finish) ??
    sourceStep(dv, o, finish) ??
    (o.pod ? podStep(dv, o, o.pod, out, finish) : scheduleStep(dv, o, out, finish))
  );
}

/** The status writer for one decision: conditions from the previous ones, an Event when the phase moves. */
function finisher(dv: DataVolume, o: DvObserved, out: DvDecision): Finish {
  const prev = dv.status;
  const gen = dv.metadata.generation ?? 0;
  const claimName = dv.metadata.name ?? "";
  return (phase, progress, running, ready) => {
    const bound: ConditionInput =
      o.claim?.phase === "Bound"
        ? { type: "Bound", status: "True", reason: "Bound", message: `PVC ${claimName} is bound` }
        : {
            type: "Bound",
            status: "False",
            reason: o.claim ? "Pending" : "ClaimMissing",
            message: `PVC ${claimName} is ${o.claim?.phase ?? "not created yet"}`,
          };
    const restarts = prev?.restartCount ?? 0;
    out.status = {
      phase,
      progress,
      claimName,
      observedGeneration: gen,
      ...(restarts ? { restartCount: restarts } : {}),
      conditions: buildConditions([bound, running, ready], prev?.conditions, o.now, gen),
    };
    if (phase !== prev?.phase) {
      if (phase === "Succeeded")
        out.events.push({ type: "Normal", reason: "ImportSucceeded", message: ready.message });
      else if (phase === "Failed")
        out.events.push({ type: "Warning", reason: ready.reason, message: ready.message });
      else if (phase === "ImportScheduled")
        out.events.push({ type: "Normal", reason: "ImportScheduled", message: running.message });
    }
    return out;
  };
}

/** The claim first: every later step needs it (WaitForFirstConsumer claims bind only once the pod exists). */
function claimStep(dv: DataVolume, o: DvObserved, out: DvDecision, finish: Finish): DvDecision | undefined {
  const claimName = dv.metadata.name ?? "";
  if (!o.claim) {
    out.actions.push({ kind: "createClaim", claim: buildDataVolumeClaim(dv) });
    return finish(
      "Pending",
      "N/A",
      notRunning("Pending", "creating the claim"),
      notReady("ClaimPending", `creating PVC ${claimName}`),
    );
  }
  if (!o.claim.ownedByDv)
    return finish(
      "Failed",
      "N/A",
      notRunning("ClaimExists", "not importing"),
      notReady(
        "ClaimExists",
        `PVC ${claimName} exists and belongs to something else; the DataVolume will not write into it`,
      ),
    );
  return undefined;
}

/** A clone waits for its source claim (found, and not open in a running VM) before any pod is made. */
function sourceStep(dv: DataVolume, o: DvObserved, finish: Finish): DvDecision | undefined {
  const src = dv.spec.source.pvc;
  if (!src || o.pod) return undefined;
  if (src.namespace && src.namespace !== dv.metadata.namespace)
    return finish(
      "Failed",
      "N/A",
      notRunning("CrossNamespaceClone", "not cloning"),
      notReady(
        "CrossNamespaceCloneUnsupported",
        `cloning from namespace ${src.namespace} is not supported yet (pods mount claims of their own namespace only); copy it with a DataVolume there and upload`,
      ),
    );
  if (!o.source?.found)
    return requeue(
      finish(
        "Pending",
        "N/A",
        notRunning("SourceMissing", "waiting for the source"),
        notReady("SourceClaimNotFound", `source PVC ${src.name} not found`),
      ),
      30_000,
    );
  if (o.source.inUseBy)
    return requeue(
      finish(
        "Pending",
        "N/A",
        notRunning("SourceInUse", "waiting for the source"),
        notReady(
          "SourceInUse",
          `source PVC ${src.name} is in use by running VM pod ${o.source.inUseBy}; stop it to clone a consistent disk`,
        ),
      ),
      30_000,
    );
  return undefined;
}

/** No importer pod yet: make one once the claim has a size. */
function scheduleStep(dv: DataVolume, o: DvObserved, out: DvDecision, finish: Finish): DvDecision {
  const capacityBytes = o.claim?.capacityBytes;
  if (!capacityBytes)
    return finish(
      "Pending",
      "N/A",
      notRunning("Pending", "waiting for the claim's size"),
      notReady("ClaimPending", "claim has no size yet"),
    );
  out.actions.push({
    kind: "createPod",
    pod: buildImporterPod(dv, {
      ...o.podSettings,
      capacityBytes,
      ...(o.source?.volumeMode ? { sourceVolumeMode: o.source.volumeMode } : {}),
    }),
  });
  return finish(
    "ImportScheduled",
    "N/A",
    notRunning("Scheduled", "importer pod created"),
    notReady("ImportScheduled", "import scheduled"),
  );
}

/** The importer pod's phase decides: scheduled, importing (progress polled), done, or failed (maybe retried). */
function podStep(
  dv: DataVolume,
  o: DvObserved,
  pod: ImporterView,
  out: DvDecision,
  finish: Finish,
): DvDecision {
  switch (pod.phase) {
    case "Pending":
    case "Unknown":
      return finish(
        "ImportScheduled",
        "N/A",
        notRunning(pod.stateReason ?? "Pending", pod.stateMessage ?? "importer pod pending"),
        notReady("ImportScheduled", "import scheduled"),
      );
    case "Running": {
      const pct = `${Math.min(99, Math.max(0, Math.floor(o.progress ?? 0)))}%`;
      const phase = dv.spec.source.upload && (o.progress ?? 0) === 0 ? "UploadReady" : "ImportInProgress";
      return requeue(
        finish(
          phase,
          pct,
          { type: "Running", status: "True", reason: "Running", message: "importer running" },
          notReady(phase, phase === "UploadReady" ? "waiting for vireo image-upload" : `importing: ${pct}`),
        ),
        PROGRESS_POLL_MS,
      );
    }
    case "Succeeded":
      if (pod.result?.result === "Succeeded")
        return finish("Succeeded", "100%", notRunning("Completed", "import completed"), {
          type: "Ready",
          status: "True",
          reason: "Succeeded",
          message: pod.result.message,
        });
    // fall through: exit 0 without a result is a failure too
    case "Failed":
      return failedStep(dv, o, pod, out, finish);
  }
  return out;
}

/** A failed import: terminal, or retried with back-off measured from the pod's end. */
function failedStep(
  dv: DataVolume,
  o: DvObserved,
  pod: ImporterView,
  out: DvDecision,
  finish: Finish,
): DvDecision {
  const restarts = dv.status?.restartCount ?? 0;
  const r: ImportResult = pod.result ?? {
    result: "Failed",
    reason: pod.stateReason ?? "ImporterFailed",
    message: pod.stateMessage ?? "the importer ended without a result",
  };
  const failed = finish(
    "Failed",
    dv.status?.progress ?? "N/A",
    notRunning("Failed", r.message),
    notReady(r.reason, r.message),
  );
  if (!RETRYABLE.has(retryClass(r))) return failed;
  const wait = retryDelayMs(restarts) - (o.now - (pod.finishedAt ?? o.now));
  if (wait > 0) return requeue(failed, wait);
  out.actions.push({ kind: "deletePod", uid: pod.uid, reason: `retry after ${r.reason}` });
  out.status = { ...out.status, restartCount: restarts + 1 };
  return out;
}
