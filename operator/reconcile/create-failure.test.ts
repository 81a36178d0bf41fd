import { describe, expect, it } from "vitest";
import type { VmStatus } from "../../crds/api/status.ts";
import {
  CREATE_RETRY_BASE_MS,
  CREATE_RETRY_MAX_MS,
  nextCreateFailure,
  statusWithCreateFailure,
} from "./create-failure.ts";

const refusal = {
  reason: "FailedCreate" as const,
  message: "the API server refused the launcher pod: quota",
};

describe("nextCreateFailure", () => {
  it("doubles the wait from the base to the cap, and starts over for a new generation", () => {
    let f = nextCreateFailure(undefined, refusal, 1, 0);
    const waits = [f.retryAt];
    for (let i = 0; i < 9; i++) waits.push((f = nextCreateFailure(f, refusal, 1, 0)).retryAt);
    expect(waits.slice(0, 4)).toEqual([1, 2, 4, 8].map((n) => n * CREATE_RETRY_BASE_MS));
    expect(waits.at(-1)).toBe(CREATE_RETRY_MAX_MS);
    expect(f.count).toBe(10);
    expect(nextCreateFailure(f, refusal, 2, 0)).toMatchObject({ count: 1, retryAt: CREATE_RETRY_BASE_MS });
  });
});

describe("statusWithCreateFailure", () => {
  const prev: VmStatus = {
    printableStatus: "Stopped",
    restartCount: 2,
    conditions: [
      { type: "Ready", status: "False", reason: "Stopped", message: "", lastTransitionTime: "t0" },
    ],
  };
  const decided: VmStatus = {
    printableStatus: "Starting",
    restartCount: 3,
    launcherPod: "vireo-launcher-web",
    conditions: [
      { type: "Ready", status: "False", reason: "Starting", message: "", lastTransitionTime: "t1" },
    ],
  };

  it("keeps the pod's fields as before and adds a Failure condition that is stable while it waits", () => {
    const f = nextCreateFailure(undefined, refusal, 4, 1_000);
    const a = statusWithCreateFailure(decided, prev, f, 1_000);
    expect(a).toMatchObject({ printableStatus: "Starting", restartCount: 2 });
    expect(a.launcherPod).toBeUndefined();
    const failure = a.conditions?.find((c) => c.type === "Failure");
    expect(failure).toMatchObject({ status: "True", reason: "FailedCreate", observedGeneration: 4 });
    expect(failure?.message).toMatch(/refused the launcher pod: quota \(attempt 1; next at /);
    // Later, still waiting, from the status just written: the same status (no write, no wake-up).
    expect(statusWithCreateFailure(decided, a, f, 1_500)).toEqual(a);
  });
});
