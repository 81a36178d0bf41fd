import { describe, expect, it } from "vitest";
import type { PodView } from "../pod-view.ts";
import { decide } from "./decide.ts";
import { NOW, rawVm, pod, ended, observed, kinds, cond } from "./testing.ts";

describe("decide: runStrategy (KubeVirt semantics)", () => {
  const LONG = 10 * 60_000;
  const table: [string, string, PodView | undefined, string[], string, string][] = [
    // strategy, what the pod did, pod, actions, printableStatus, phase
    ["Always", "no pod", undefined, ["createPod"], "Starting", "Scheduling"],
    ["RerunOnFailure", "no pod", undefined, ["createPod"], "Starting", "Scheduling"],
    ["Once", "no pod", undefined, ["createPod"], "Starting", "Scheduling"],
    ["Manual", "no pod", undefined, [], "Stopped", "Stopped"],
    ["Halted", "no pod", undefined, [], "Stopped", "Stopped"],
    ["Always", "running", pod(), [], "Running", "Running"],
    ["Manual", "running", pod(), [], "Running", "Running"],
    ["Halted", "running", pod(), ["deletePod"], "Stopping", "Running"],
    ["Always", "guest shut down", ended("Succeeded", LONG), ["deletePod"], "Starting", "Pending"],
    ["Always", "failed after a long run", ended("Failed", LONG), ["deletePod"], "Starting", "Pending"],
    ["RerunOnFailure", "guest shut down", ended("Succeeded", LONG), [], "Stopped", "Succeeded"],
    [
      "RerunOnFailure",
      "failed after a long run",
      ended("Failed", LONG),
      ["deletePod"],
      "Starting",
      "Pending",
    ],
    ["Once", "guest shut down", ended("Succeeded", LONG), [], "Stopped", "Succeeded"],
    ["Once", "failed", ended("Failed", LONG), [], "Failed", "Failed"],
    ["Manual", "guest shut down", ended("Succeeded", LONG), [], "Stopped", "Succeeded"],
    ["Manual", "failed", ended("Failed", LONG), [], "Failed", "Failed"],
    ["Always", "terminating", pod({ terminating: true }), [], "Stopping", "Running"],
    ["Halted", "terminating", pod({ terminating: true }), [], "Stopping", "Running"],
  ];
  for (const [strategy, what, p, actions, printable, phase] of table) {
    it(`${strategy}, ${what} → ${actions.join("+") || "nothing"}, ${printable}`, () => {
      const d = decide(rawVm({ runStrategy: strategy }), observed({ pods: p ? [p] : [] }));
      expect(kinds(d)).toEqual(actions);
      expect(d.status?.printableStatus).toBe(printable);
      expect(d.status?.phase).toBe(phase);
    });
  }
});

describe("decide: a run that ended for good stays ended when its pod disappears", () => {
  const LONG = 10 * 60_000;
  const endedPod = (phase: "Succeeded" | "Failed") => ended(phase, LONG);

  for (const [strategy, phase, printable, ready] of [
    ["Once", "Succeeded", "Stopped", "True"],
    ["Once", "Failed", "Failed", "False"],
    ["RerunOnFailure", "Succeeded", "Stopped", "True"],
  ] as const) {
    it(`${strategy}, the ${phase} pod removed → no new pod, ${printable}`, () => {
      const first = decide(rawVm({ runStrategy: strategy }), observed({ pods: [endedPod(phase)] }));
      expect(first.status?.lastRun).toMatchObject({ phase, pod: "pod-uid" });
      const gone = decide(rawVm({ runStrategy: strategy }, { status: first.status! }), observed());
      expect(kinds(gone)).toEqual([]);
      expect(gone.status?.printableStatus).toBe(printable);
      expect(cond(gone, "Ready")?.status).toBe(ready);
      expect(cond(gone, "Stalled")?.status).toBe(phase === "Failed" ? "True" : undefined);
      expect(gone.status?.lastRun).toEqual(first.status?.lastRun);
    });
  }

  it("a restart request newer than the run starts another, which clears the record", () => {
    const first = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [endedPod("Succeeded")] }));
    const again = decide(
      rawVm(
        { runStrategy: "Once" },
        { status: first.status!, annotations: { "vireo.dev/restartedAt": "2025-06-01T10:00:00Z" } },
      ),
      observed(),
    );
    expect(kinds(again)).toEqual(["createPod"]);
    expect(again.status?.lastRun).toBeUndefined();
  });

  it("Halted forgets the run: starting again is a new run", () => {
    const first = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [endedPod("Succeeded")] }));
    const halted = decide(rawVm({ runStrategy: "Halted" }, { status: first.status! }), observed());
    expect(halted.status?.lastRun).toBeUndefined();
    const once = decide(rawVm({ runStrategy: "Once" }, { status: halted.status! }), observed());
    expect(kinds(once)).toEqual(["createPod"]);
  });

  it("Always ignores a record and runs", () => {
    const first = decide(rawVm({ runStrategy: "Once" }), observed({ pods: [endedPod("Succeeded")] }));
    const always = decide(rawVm({ runStrategy: "Always" }, { status: first.status! }), observed());
    expect(kinds(always)).toEqual(["createPod"]);
  });
});

describe("decide: start, stop, restart", () => {
  it("adds the finalizer before creating the first pod, and builds the pod for the VM", () => {
    const d = decide(rawVm({}, { finalizers: [] }), observed());
    expect(kinds(d)).toEqual(["addFinalizer", "createPod"]);
    const create = d.actions[1];
    expect(create?.kind === "createPod" && create.pod.metadata?.name).toBe("vireo-launcher-web");
    expect(d.status).toMatchObject({ launcherPod: "vireo-launcher-web", restartCount: 0 });
    expect(d.events.map((e) => e.reason)).toEqual(["SuccessfulCreate"]);
  });

  it("reports at creation exactly what the created pod's arrival in the cache shows: one status write", () => {
    const d = decide(rawVm(), observed());
    const create = d.actions[0];
    if (create?.kind !== "createPod") throw new Error("expected a pod");
    const arrived = pod({
      phase: "Pending",
      ready: false,
      launcherStarted: false,
      nodeName: undefined,
      podIPs: [],
      specHash: create.pod.metadata?.annotations?.["vireo.dev/spec-hash"],
    });
    const next = decide(rawVm({}, { status: d.status! }), observed({ pods: [arrived], now: NOW + 500 }));
    expect(next.status).toEqual(d.status);
    expect(next.events).toEqual([]);
  });

  it("a restart request deletes a pod carrying another value, and the next pod carries the new one", () => {
    const annotations = { "vireo.dev/restartedAt": "2025-06-01T11:00:00Z" };
    const d = decide(rawVm({}, { annotations }), observed({ pods: [pod()] }));
    expect(d.actions).toEqual([
      expect.objectContaining({ kind: "deletePod", name: "vireo-launcher-web", uid: "pod-uid" }),
    ]);
    expect(d.status?.printableStatus).toBe("Stopping");
    const next = decide(rawVm({}, { annotations, status: { restartCount: 0 } }), observed());
    const create = next.actions[0];
    expect(create?.kind === "createPod" && create.pod.metadata?.annotations?.["vireo.dev/restartedAt"]).toBe(
      "2025-06-01T11:00:00Z",
    );
    expect(next.status).toMatchObject({ restartedAt: "2025-06-01T11:00:00Z", restartCount: 1 });
    const settled = decide(
      rawVm({}, { annotations }),
      observed({ pods: [pod({ restartedAt: annotations["vireo.dev/restartedAt"] })] }),
    );
    expect(kinds(settled)).toEqual([]);
  });

  it("Manual starts only on a restart request it has not acted on yet", () => {
    const annotations = { "vireo.dev/restartedAt": "2025-06-01T11:00:00Z" };
    const manual = { runStrategy: "Manual" };
    expect(kinds(decide(rawVm(manual, { annotations }), observed()))).toEqual(["createPod"]);
    const done = { restartedAt: "2025-06-01T11:00:00Z" };
    expect(kinds(decide(rawVm(manual, { annotations, status: done }), observed()))).toEqual([]);
  });

  it("a spec change under a live pod is RestartRequired, never applied to the pod", () => {
    const d = decide(rawVm({ memory: { guest: "2Gi" } }), observed({ pods: [pod()] }));
    expect(kinds(d)).toEqual([]);
    expect(cond(d, "RestartRequired")).toMatchObject({ status: "True", reason: "SpecChanged" });
    expect(d.events).toContainEqual(expect.objectContaining({ reason: "RestartRequired" }));
    expect(
      cond(decide(rawVm({ runStrategy: "Always" }), observed({ pods: [pod()] })), "RestartRequired"),
    ).toBeUndefined();
  });

  it("deletion: deletes the pod, waits for it, then removes the finalizer", () => {
    const deleting = rawVm({}, { deleting: true });
    const d1 = decide(deleting, observed({ pods: [pod()] }));
    expect(kinds(d1)).toEqual(["deletePod"]);
    expect(d1.status?.printableStatus).toBe("Terminating");
    const d2 = decide(deleting, observed({ pods: [pod({ terminating: true })] }));
    expect(kinds(d2)).toEqual([]);
    const d3 = decide(deleting, observed());
    expect(kinds(d3)).toEqual(["removeFinalizer"]);
    expect(d3.status).toBeUndefined();
    expect(kinds(decide(rawVm({}, { deleting: true, finalizers: [] }), observed()))).toEqual([]);
  });
});

describe("decide: a node that stops answering", () => {
  it("a running pod the node controller marked not ready is NodeUnreachable and Stalled, not Starting", () => {
    const d = decide(rawVm(), observed({ pods: [pod({ ready: false, nodeLost: "NotReady" })] }));
    expect(d.status?.printableStatus).toBe("NodeUnreachable");
    expect(cond(d, "Ready")).toMatchObject({ status: "False", reason: "NodeUnreachable" });
    expect(cond(d, "Stalled")).toMatchObject({ status: "True", reason: "NodeUnreachable" });
    expect(cond(d, "Reconciling")).toBeUndefined();
    expect(cond(d, "Stalled")?.message).toContain("node.kubernetes.io/out-of-service");
    expect(kinds(d)).toEqual([]);
  });

  it("a pod evicted by the taint manager is NodeUnreachable, not Stopping, and no second pod is made", () => {
    const p = pod({ ready: false, terminating: true, nodeLost: "Evicted" });
    const d = decide(rawVm(), observed({ pods: [p] }));
    expect(d.status?.printableStatus).toBe("NodeUnreachable");
    expect(cond(d, "Stalled")?.message).toContain("evicted by the taint manager");
    expect(kinds(d)).toEqual([]);
  });

  it("Halted still deletes the pod, and says why it cannot be confirmed gone", () => {
    const d = decide(
      rawVm({ runStrategy: "Halted" }),
      observed({ pods: [pod({ ready: false, nodeLost: "NotReady" })] }),
    );
    expect(kinds(d)).toEqual(["deletePod"]);
    expect(d.status?.printableStatus).toBe("NodeUnreachable");
  });

  it("once the pod is gone (node deleted or out-of-service: pod GC) the VM starts again", () => {
    const d = decide(rawVm(), observed({ pods: [] }));
    expect(kinds(d)).toEqual(["createPod"]);
  });
});
