/**
 * What `vireo doctor` concludes from the objects it reads: the CRD, the operator Deployment and a trial VM.
 * Pure: doctor.ts fetches the objects, polls, and prints the results.
 */
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../crds/api/virtual-machine.ts";

/** The CRD's name. */
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** A check's outcome: `pending` means "not yet, ask again" while a deadline allows. */
export interface CheckResult {
  state: "ok" | "pending" | "fail";
  /** One line saying what was seen. */
  detail: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const condition = (conditions: Condition[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

const why = (c: Condition | undefined) =>
  c ? `${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}` : "absent";

/** The CRD: Established and NamesAccepted, and our version served. */
export function checkCrd(
  crd:
    | {
        spec?: { versions?: Array<{ name?: string; served?: boolean }> };
        status?: { conditions?: Condition[] };
      }
    | undefined,
): CheckResult {
  if (!crd) return { state: "fail", detail: `CRD ${CRD_NAME} not found: install the chart (or vireo-crds)` };
  const established = condition(crd.status?.conditions, "Established");
  const names = condition(crd.status?.conditions, "NamesAccepted");
  if (names?.status === "False")
    return { state: "fail", detail: `CRD ${CRD_NAME}: NamesAccepted ${why(names)}` };
  if (established?.status !== "True")
    return { state: "pending", detail: `CRD ${CRD_NAME}: Established ${why(established)}` };
  const served = crd.spec?.versions?.some((v) => v.name === VERSION && v.served === true);
  if (!served) return { state: "fail", detail: `CRD ${CRD_NAME} does not serve ${VERSION}` };
  return { state: "ok", detail: `CRD ${CRD_NAME} established, ${VERSION} served` };
}

/** The operator Deployment: rolled out (observed its generation) and Available with a ready replica. */
export function checkOperator(
  name: string,
  deploy:
    | {
        metadata?: { generation?: number };
        spec?: { replicas?: number };
        status?: { observedGeneration?: number; readyReplicas?: number; conditions?: Condition[] };
      }
    | undefined,
): CheckResult {
  if (!deploy) return { state: "fail", detail: `Deployment ${name} not found (wrong --operator-namespace?)` };
  const want = deploy.spec?.replicas ?? 1;
  const ready = deploy.status?.readyReplicas ?? 0;
  const available = condition(deploy.status?.conditions, "Available");
  const progressing = condition(deploy.status?.conditions, "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded")
    return { state: "fail", detail: `operator ${name}: rollout stuck: ${why(progressing)}` };
  const seen = (deploy.status?.observedGeneration ?? 0) >= (deploy.metadata?.generation ?? 0);
  if (!seen || available?.status !== "True" || ready < 1)
    return {
      state: "pending",
      detail: `operator ${name}: ${ready}/${want} ready, Available ${why(available)}`,
    };
  return { state: "ok", detail: `operator ${name} available, ${ready}/${want} replicas ready` };
}

/** The trial VM doctor creates: halted, the smallest valid spec. */
export function trialVm(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "vireo-doctor" },
      annotations: { "vireo.dev/description": "created by vireo doctor to check the install; deleted after" },
    },
    spec: { runStrategy: "Halted", memory: { guest: "64Mi" } },
  };
}

/** The trial VM after creation: the operator has seen this generation and reports it Stopped. */
export function checkTrialVm(
  vm:
    | {
        metadata?: { generation?: number };
        status?: { observedGeneration?: number; printableStatus?: string };
      }
    | undefined,
): CheckResult {
  if (!vm) return { state: "fail", detail: "the trial VM disappeared before the operator reconciled it" };
  const generation = vm.metadata?.generation ?? 1;
  const observed = vm.status?.observedGeneration;
  const printable = vm.status?.printableStatus;
  if (observed === generation && printable === "Stopped")
    return {
      state: "ok",
      detail: `a halted VM is accepted and reconciled (Stopped, generation ${generation})`,
    };
  return {
    state: "pending",
    detail:
      observed === undefined
        ? "a halted VM is accepted; no status from the operator yet (does it watch this namespace?)"
        : `a halted VM is accepted; status ${printable ?? "(none)"} at generation ${observed}/${generation}`,
  };
}
