import { describe, expect, it } from "vitest";
import { checkCrd, checkOperator, checkTrialVm, trialVm } from "./checks.ts";
import { validateVirtualMachine } from "../../crds/api/validate.ts";

const cond = (type: string, status: string, reason?: string) => ({ type, status, reason });

describe("vireo doctor's checks", () => {
  it("CRD: missing fails, not yet established waits, established and served passes", () => {
    expect(checkCrd(undefined).state).toBe("fail");
    expect(checkCrd({ status: { conditions: [cond("Established", "False", "Installing")] } })).toEqual({
      state: "pending",
      detail: "CRD virtualmachines.vireo.dev: Established False (Installing)",
    });
    expect(
      checkCrd({ status: { conditions: [cond("NamesAccepted", "False", "MultipleNamesNotAllowed")] } }).state,
    ).toBe("fail");
    const established = { status: { conditions: [cond("Established", "True")] } };
    expect(checkCrd({ ...established, spec: { versions: [{ name: "v1beta1", served: true }] } }).state).toBe(
      "fail",
    );
    expect(checkCrd({ ...established, spec: { versions: [{ name: "v1alpha1", served: true }] } }).state).toBe(
      "ok",
    );
  });

  it("operator: waits for the rollout and a ready replica; a stuck rollout fails", () => {
    expect(checkOperator("ns/op", undefined).state).toBe("fail");
    const base = { metadata: { generation: 2 }, spec: { replicas: 2 } };
    expect(
      checkOperator("ns/op", {
        ...base,
        status: { observedGeneration: 1, readyReplicas: 2, conditions: [cond("Available", "True")] },
      }).state,
    ).toBe("pending");
    expect(
      checkOperator("ns/op", {
        ...base,
        status: {
          observedGeneration: 2,
          conditions: [cond("Progressing", "False", "ProgressDeadlineExceeded")],
        },
      }).state,
    ).toBe("fail");
    expect(
      checkOperator("ns/op", {
        ...base,
        status: { observedGeneration: 2, readyReplicas: 1, conditions: [cond("Available", "True")] },
      }),
    ).toEqual({ state: "ok", detail: "operator ns/op available, 1/2 replicas ready" });
  });

  it("trial VM: the smallest valid halted VM, reconciled when the operator reports Stopped for its generation", () => {
    const vm = trialVm("team", "vireo-doctor-abc123");
    expect(validateVirtualMachine(vm).ok).toBe(true);
    expect(checkTrialVm(undefined).state).toBe("fail");
    expect(checkTrialVm({ metadata: { generation: 1 } }).detail).toContain("no status from the operator yet");
    expect(
      checkTrialVm({
        metadata: { generation: 2 },
        status: { observedGeneration: 1, printableStatus: "Stopped" },
      }).state,
    ).toBe("pending");
    expect(
      checkTrialVm({
        metadata: { generation: 1 },
        status: { observedGeneration: 1, printableStatus: "Stopped" },
      }).state,
    ).toBe("ok");
  });
});
