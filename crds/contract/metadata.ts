/**
 * Names on Kubernetes objects that the operator, the CLI, the chart and tests must spell alike: labels,
 * annotations, the finalizer, the field manager, container and object names. One spelling each, here.
 */

/** API group of every Vireo resource. */
export const GROUP = "vireo.dev";
/** Served and stored version. */
export const VERSION = "v1alpha1";
/** `apiVersion` of a VirtualMachine. */
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Kind. */
export const KIND = "VirtualMachine";
/** Plural resource name. */
export const PLURAL = "virtualmachines";

/** Field manager for every write the operator makes (server-side apply and creates). */
export const FIELD_MANAGER = "vireo-operator";

/** Event `source.component` / `reportingController`. */
export const COMPONENT = "vireo-operator";

/** Finalizer that makes deletion wait until the launcher pod is gone. */
export const FINALIZER = "vireo.dev/graceful-stop";

/** Label on launcher pods (and state claims) naming their VM; the pod informer selects on it. */
export const LABEL_VM = "vireo.dev/vm";

/**
 * Restart request: `kubectl annotate vm/x vireo.dev/restartedAt=$(date -u +%FT%TZ) --overwrite`, the same
 * shape as `kubectl rollout restart`. The operator copies it onto the pod it creates; a VM whose value differs
 * from its pod's gets a new pod.
 */
export const ANNOTATION_RESTARTED_AT = "vireo.dev/restartedAt";

/**
 * Pause report: the CLI sets it to the uid of the launcher pod it paused, after a successful `vireo pause`, and
 * removes it after `vireo unpause`. The pod shows nothing of a pause (it only turns not ready), so the operator
 * reports `Paused` from this mark — only while that very pod runs, so a mark left behind by an earlier pod
 * (restarted, crashed, stopped and started again) cannot make a fresh guest read Paused.
 */
export const ANNOTATION_PAUSED = "vireo.dev/paused";

/** VM annotation in which `vireo stop` keeps the runStrategy it replaced with Halted (`vireo start` restores it). */
export const ANNOTATION_RUN_STRATEGY_BEFORE_STOP = "vireo.dev/runStrategyBeforeStop";

/** Pod annotation: hash of the launcher-relevant spec the pod was built from (RestartRequired detection). */
export const ANNOTATION_SPEC_HASH = "vireo.dev/spec-hash";

/** Pod annotation: consecutive quick failures before this pod was created (crash-loop back-off). */
export const ANNOTATION_START_FAILURES = "vireo.dev/start-failures";

/**
 * Pod annotation holding the launcher config (JSON), which a downward API volume shows to the launcher as
 * `LAUNCHER_CONFIG_FILE` (pod-layout.ts). Not an environment variable: the kernel refuses one string over
 * 128 KiB (E2BIG at exec), and inline cloud-init data alone can be that large; annotations may total 256 KiB.
 */
export const ANNOTATION_LAUNCHER_CONFIG = "vireo.dev/launcher-config";

/** Pod annotation through which Multus is asked to attach NetworkAttachmentDefinitions (Multus' own key). */
export const MULTUS_NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks";
/** Pod annotation in which Multus reports what it attached (interface, IPs, MAC per network). */
export const MULTUS_NETWORK_STATUS_ANNOTATION = "k8s.v1.cni.cncf.io/network-status";

/** Name of the launcher container inside the pod (`kubectl exec -c`, status from its container state). */
export const LAUNCHER_CONTAINER = "launcher";

/** Name of the network-plumbing init container. */
export const NETSETUP_CONTAINER = "netsetup";

/**
 * The launcher pod's name. Deterministic on purpose: the API server then refuses a second pod for the same
 * VM (409 AlreadyExists), even from an operator with a stale cache or a second replica after a failover; and a
 * VM's disks are never opened by two launchers at once, because the next pod can only be created once the
 * previous one is gone.
 */
export function launcherPodName(vmName: string): string {
  return `vireo-launcher-${vmName}`;
}

/**
 * The VM's state claim (UEFI variables; later a TPM), KubeVirt's "backend storage". Deterministic for the same
 * reason as the pod's name: a second claim for one VM is refused by the API server (409), and the next launcher
 * pod finds the same claim after any restart. VM names are DNS-1123 labels (≤ 63), so this stays a valid name.
 */
export function stateClaimName(vmName: string): string {
  return `vireo-state-${vmName}`;
}

/** `apiVersion` and `kind` of the VM, for owner references and events. */
export const VM_TYPE = { apiVersion: API_VERSION, kind: KIND } as const;
