import { describe, expect, it } from "vitest";
import type { VmStatus } from "../../../crds/api/status.ts";
import { crashLoopDelayMs, failuresAfter } from "../backoff.ts";
import { decide } from "./decide.ts";
import { NOW, rawVm, pod, ended, observed, kinds, cond } from "./testing.ts";

describe("decide: failures", () => {
  it("quick failures back off exponentially, keeping the failed pod as the record until the delay passes", () => {
    const settings = { baseSeconds: 10, maxSeconds: 300, minRunSeconds: 60 };
    expect([1, 2, 3, 4, 6, 9].map((n) => crashLoopDelayMs(n, settings))).toEqual([
      10_000, 20_000, 40_000, 80_000, 300_000, 300_000,
    ]);
    expect(failuresAfter({ startFailures: 2, startedAt: 0, finishedAt: 5_000 }, settings)).toBe(3);
    expect(failuresAfter({ startFailures: 2, startedAt: 0, finishedAt: 120_000 }, settings)).toBe(0);
    expect(failuresAfter({ startFailures: 0 }, settings)).toBe(1);

    // Third quick failure: 40 s back-off from when it ended (5 s ago).
    const failed = ended("Failed", 2_000, { startFailures: 2 });
    const d = decide(rawVm(), observed({ pods: [failed] }));
    expect(kinds(d)).toEqual([]);
    expect(d.requeueAfterMs).toBe(35_000);
    expect(d.status?.printableStatus).toBe("CrashLoopBackOff");
    expect(d.status?.startFailure).toMatchObject({
      consecutiveFailCount: 3,
      lastFailureMessage: "exit code 1: qemu died",
    });
    expect(cond(d, "Stalled")).toMatchObject({ reason: "CrashLoopBackOff" });
    expect(d.events[0]).toMatchObject({ type: "Warning", reason: "CrashLoopBackOff" });

    const later = decide(rawVm({}, { status: d.status! }), observed({ pods: [failed], now: NOW + 36_000 }));
    expect(kinds(later)).toEqual(["deletePod"]);
    expect(later.status?.startFailure?.consecutiveFailCount).toBe(3);
    const next = decide(rawVm({}, { status: later.status! }), observed({ now: NOW + 37_000 }));
    const create = next.actions[0];
    expect(
      create?.kind === "createPod" && create.pod.metadata?.annotations?.["vireo.dev/start-failures"],
    ).toBe("3");
  });

  it("honours a pending back-off even when the failed pod is gone", () => {
    const status: VmStatus = {
      startFailure: { consecutiveFailCount: 2, retryAfterTimestamp: "2025-06-01T12:00:20Z" },
    };
    const d = decide(rawVm({}, { status }), observed());
    expect(kinds(d)).toEqual([]);
    expect(d.requeueAfterMs).toBe(20_000);
    expect(d.status?.printableStatus).toBe("CrashLoopBackOff");
  });

  it("a missing PVC is ErrorPvcNotFound with Failure and Stalled, and no requeue", () => {
    const d = decide(rawVm(), observed({ claims: {} }));
    expect(kinds(d)).toEqual([]);
    expect(d.status?.printableStatus).toBe("ErrorPvcNotFound");
    expect(cond(d, "Failure")).toMatchObject({
      status: "True",
      reason: "PvcNotFound",
      message: expect.stringContaining("web-root"),
    });
    expect(cond(d, "Stalled")).toMatchObject({ status: "True" });
    expect(d.requeueAfterMs).toBeUndefined();
    expect(d.events).toEqual([expect.objectContaining({ type: "Warning", reason: "ErrorPvcNotFound" })]);
  });

  it("an invalid spec is terminal: Failure, Stalled, an event, no pod", () => {
    const d = decide(rawVm({ disks: [{ name: "root" }], volumes: [] }), observed());
    expect(d.terminal).toBe("InvalidSpec");
    expect(kinds(d)).toEqual([]);
    expect(d.status?.printableStatus).toBe("InvalidSpec");
    expect(cond(d, "Failure")?.message).toContain('disk "root" has no volume');
    expect(cond(d, "Stalled")).toMatchObject({ status: "True", reason: "InvalidSpec" });
    expect(d.events).toEqual([expect.objectContaining({ type: "Warning", reason: "InvalidSpec" })]);
  });

  it("a Once VM whose launcher failed reports Failed with the termination message", () => {
    const d = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [ended("Failed", 1_000)] }));
    expect(cond(d, "Failure")).toMatchObject({ reason: "LauncherFailed", message: "exit code 1: qemu died" });
  });
});

describe("decide: the state claim (persistent UEFI variables)", () => {
  const persistent = { firmware: { uefi: { persistent: true } } };
  const own = (over: Partial<{ phase: string; terminating: boolean; ownerUid: string }> = {}) => ({
    found: true as const,
    uid: "claim-uid",
    ownerUid: "vm-uid",
    phase: "Bound",
    terminating: false,
    ...over,
  });

  it("waits for the state claim: creates it first, and no pod until the cache shows it", () => {
    const d = decide(rawVm(persistent), observed({ stateClaim: { found: false } }));
    expect(kinds(d)).toEqual(["createClaim"]);
    const claim = d.actions.find((a) => a.kind === "createClaim");
    expect(claim?.kind === "createClaim" && claim.claim.metadata?.name).toBe("vireo-state-web");
    expect(d.status?.printableStatus).toBe("WaitingForVolumeBinding");
    expect(cond(d, "Ready")).toMatchObject({ status: "False", reason: "WaitingForStateClaim" });
    expect(cond(d, "Reconciling")?.status).toBe("True");
  });

  it("waits for the state claim to bind: the pod mounts it (WaitForFirstConsumer), status says so", () => {
    const d = decide(rawVm(persistent), observed({ stateClaim: own({ phase: "Pending" }) }));
    expect(kinds(d)).toEqual(["createPod"]);
    const create = d.actions[0];
    const volumes = create?.kind === "createPod" ? create.pod.spec?.volumes : [];
    expect(volumes).toContainEqual(
      expect.objectContaining({ persistentVolumeClaim: { claimName: "vireo-state-web" } }),
    );
    expect(d.status?.printableStatus).toBe("WaitingForVolumeBinding");
    expect(cond(d, "Ready")?.message).toContain("vireo-state-web");
  });

  it("starts normally once the claim is bound, and never creates a second one", () => {
    const d = decide(rawVm(persistent), observed({ stateClaim: own() }));
    expect(kinds(d)).toEqual(["createPod"]);
    expect(d.status?.printableStatus).toBe("Starting");
  });

  it("never uses a claim of that name controlled by someone else", () => {
    const d = decide(rawVm(persistent), observed({ stateClaim: own({ ownerUid: "old-vm-uid" }) }));
    expect(kinds(d)).toEqual([]);
    expect(d.status?.printableStatus).toBe("ErrorPvcNotFound");
    expect(cond(d, "Stalled")).toMatchObject({ status: "True", reason: "StateClaimNotOwned" });
  });

  it("a VM without persistent variables neither creates nor waits for one", () => {
    const d = decide(rawVm({ firmware: { uefi: {} } }), observed({ stateClaim: { found: false } }));
    expect(kinds(d)).toEqual(["createPod"]);
  });

  it("deletes it with the VM: after the pod is gone, before the finalizer goes", () => {
    const withPod = decide(
      rawVm(persistent, { deleting: true }),
      observed({ pods: [pod()], stateClaim: own() }),
    );
    expect(kinds(withPod)).toEqual(["deletePod"]);
    const d = decide(rawVm(persistent, { deleting: true }), observed({ stateClaim: own() }));
    expect(d.actions).toEqual([
      { kind: "deleteClaim", name: "vireo-state-web", uid: "claim-uid" },
      { kind: "removeFinalizer" },
    ]);
  });

  it("on deletion, leaves a claim it does not control alone and does not delete one twice", () => {
    const foreign = decide(
      rawVm(persistent, { deleting: true }),
      observed({ stateClaim: own({ ownerUid: "x" }) }),
    );
    expect(kinds(foreign)).toEqual(["removeFinalizer"]);
    const twice = decide(
      rawVm(persistent, { deleting: true }),
      observed({ stateClaim: own({ terminating: true }) }),
    );
    expect(kinds(twice)).toEqual(["removeFinalizer"]);
  });
});
