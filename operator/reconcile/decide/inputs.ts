/**
 * What `decide` reads and what it returns: the VM as the cache holds it, what else the caches show, and the
 * decision (actions, status, events, requeue). Types only, so the shell and the tests can name them.
 */
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { VmStatus } from "../../../crds/api/status.ts";
import type { DataVolume } from "../../../crds/api/datavolume.ts";
import type { ClaimFacts } from "../../../crds/launcher/resolve.ts";
import type { VmEvent } from "../../kube/events.ts";
import type { ProfileFacts } from "../../instancetype/facts.ts";
import type { PodInputs } from "../../pod/settings.ts";
import type { CrashLoopSettings } from "../backoff.ts";
import type { DataVolumeFacts } from "../../datavolume/vm-disks.ts";
import type { PodView } from "../pod-view.ts";
import type { AgentObservation } from "./guest-agent.ts";

/** A VM as the informer holds it: not yet validated. */
export interface RawVm {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: unknown;
    deletionTimestamp?: unknown;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  spec?: unknown;
  status?: unknown;
}

/** What a PVC lookup found. */
export type ClaimState = { found: false } | ({ found: true; phase?: string } & ClaimFacts);

/** What the PVC cache shows under the VM's state-claim name (`vireo-state-<vm>`). */
export type StateClaimState =
  { found: false } | { found: true; uid: string; ownerUid?: string; phase?: string; terminating: boolean };

/** Everything besides the VM that the decision depends on. */
export interface Observed {
  /** Milliseconds since the epoch. */
  now: number;
  /** Pods controlled by this VM (owner reference with the VM's uid). */
  pods: PodView[];
  /** The VM's claims by name, as far as the PVC cache knows them. */
  claims: Record<string, ClaimState>;
  /** The claim under the VM's state-claim name, whether or not the spec asks for one (undefined: none). */
  stateClaim?: StateClaimState;
  /** Cluster settings for the pod. */
  pod: Omit<PodInputs, "claims" | "startFailures">;
  /** Crash-loop back-off settings. */
  crashLoop: CrashLoopSettings;
  /** When the operator saw this start being asked for (VM created, pod created), for start latency. */
  startRequestedAt?: number;
  /** What the VM's instancetype and preference resolved to (operator/instancetype); unset when it names none. */
  profiles?: ProfileFacts;
  /** The DataVolumes the VM names (volumes and templates), by name (operator/datavolume). */
  dataVolumes?: Record<string, DataVolumeFacts>;
  /** What the running launcher's guest agent last reported (operator/agent/reader.ts). */
  agent?: AgentObservation;
}

/** A side effect for the outer reconciler to carry out, in order. */
export type Action =
  | { kind: "addFinalizer" }
  | { kind: "removeFinalizer" }
  | { kind: "createPod"; pod: V1Pod }
  | { kind: "deletePod"; name: string; uid: string; reason: string }
  | { kind: "createClaim"; claim: V1PersistentVolumeClaim }
  | { kind: "deleteClaim"; name: string; uid: string }
  | { kind: "createDataVolume"; dataVolume: DataVolume };

/** The outcome of one decision. */
export interface Decision {
  actions: Action[];
  /** The complete status to report; undefined when the VM is about to disappear. */
  status?: VmStatus;
  /** Events to record once the actions and the status write have succeeded. */
  events: VmEvent[];
  /** Look again after this long even if nothing changes (back-off expiry). */
  requeueAfterMs?: number;
  /** Set when retrying cannot help (invalid spec): the reason, for logs and metrics. */
  terminal?: string;
}
