import { describe, expect, it } from "vitest";
import type { VmStatus } from "../../crds/api/status.ts";
import { FINALIZER, PAUSED_ANNOTATION } from "../names.ts";
import { crashLoopDelayMs, failuresAfter } from "./backoff.ts";
import { decide, type Decision, type Observed, type RawVm } from "./decide.ts";
import type { PodView } from "./pod-view.ts";
import { launcherSpecHash } from "../pod/spec-hash.ts";
import { parseVirtualMachine } from "../../crds/api/validate.ts";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const rootDisk = {
  disks: [{ name: "root", bootOrder: 1 }],
  volumes: [{ name: "root", persistentVolumeClaim: { claimName: "web-root" } }],
};

function rawVm(
  spec: Record<string, unknown> = {},
  opts: {
    annotations?: Record<string, string>;
    status?: VmStatus;
    finalizers?: string[];
    deleting?: boolean;
  } = {},
): RawVm {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: {
      name: "web",
      namespace: "prod",
      uid: "vm-uid",
      generation: 3,
      creationTimestamp: "2025-06-01T11:59:00Z",
      finalizers: opts.finalizers ?? [FINALIZER],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.deleting ? { deletionTimestamp: "2025-06-01T11:59:30Z" } : {}),
    },
    spec: { memory: { guest: "1Gi" }, ...rootDisk, ...spec },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

const hashOf = (spec: Record<string, unknown> = {}) =>
  launcherSpecHash(parseVirtualMachine({ ...rawVm(spec), status: undefined }).spec);

function pod(over: Partial<PodView> = {}): PodView {
  return {
    name: "vireo-launcher-web",
    uid: "pod-uid",
    phase: "Running",
    terminating: false,
    ready: true,
    launcherStarted: true,
    initialized: true,
    nodeName: "node-a",
    podIPs: ["10.1.2.3"],
    specHash: hashOf(),
    startFailures: 0,
    createdAt: NOW - 600_000,
    startedAt: NOW - 590_000,
    ...over,
  };
}

const ended = (phase: "Succeeded" | "Failed", ranMs: number, over: Partial<PodView> = {}) =>
  pod({
    phase,
    ready: false,
    startedAt: NOW - 5_000 - ranMs,
    finishedAt: NOW - 5_000,
    termination: { exitCode: phase === "Failed" ? 1 : 0, message: phase === "Failed" ? "qemu died" : "" },
    ...over,
  });

function observed(over: Partial<Observed> = {}): Observed {
  return {
    now: NOW,
    pods: [],
    claims: { "web-root": { found: true, volumeMode: "Filesystem", phase: "Bound" } },
    pod: {
      launcherImage: "launcher:1",
      imagePullPolicy: "IfNotPresent",
      emulation: true,
      defaultBinding: "bridge",
    },
    crashLoop: { baseSeconds: 10, maxSeconds: 300, minRunSeconds: 60 },
    ...over,
  };
}

const kinds = (d: Decision) => d.actions.map((a) => a.kind);
const cond = (d: Decision, type: string) => d.status?.conditions?.find((c) => c.type === type);

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
  const endedPod = (phase: "Succeeded" | "Failed") =>
    pod({
      phase,
      ready: false,
      startedAt: NOW - 5_000 - LONG,
      finishedAt: NOW - 5_000,
      termination: { exitCode: phase === "Failed" ? 1 : 0, message: phase === "Failed" ? "qemu died" : "" },
    });

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

describe("decide: status", () => {
  it("a halted VM is healthy for kstatus: Ready=True/Halted, GuestReady=False, no Reconciling or Stalled", () => {
    const d = decide(rawVm({ runStrategy: "Halted" }), observed());
    expect(d.status?.observedGeneration).toBe(3);
    expect(cond(d, "Ready")).toMatchObject({ status: "True", reason: "Halted", observedGeneration: 3 });
    expect(cond(d, "GuestReady")).toMatchObject({ status: "False", reason: "NotRunning" });
    expect(cond(d, "Reconciling")).toBeUndefined();
    expect(cond(d, "Stalled")).toBeUndefined();
    expect(d.status?.ready).toBe(false);
  });

  it("a running, ready pod makes the VM Running and Ready with node, pod, MAC and IP", () => {
    const d = decide(rawVm(), observed({ pods: [pod()] }));
    expect(d.status).toMatchObject({
      phase: "Running",
      printableStatus: "Running",
      ready: true,
      nodeName: "node-a",
      launcherPod: "vireo-launcher-web",
      ipAddress: "10.1.2.3",
    });
    // The cluster's default binding here is bridge: no network-status, so the guest's MAC (eth0's) is unknown.
    expect(d.status?.interfaces).toEqual([{ name: "default", ips: ["10.1.2.3"], podInterface: "eth0" }]);
    expect(cond(d, "Ready")).toMatchObject({ status: "True", reason: "Ready" });
    expect(cond(d, "Reconciling")).toBeUndefined();
  });

  describe("interfaces report the MAC the guest has", () => {
    const multusSpec = {
      interfaces: [{ name: "default" }, { name: "storage" }],
      networks: [
        { name: "default", pod: {} },
        { name: "storage", multus: { networkName: "storage-net" } },
      ],
    };
    const networkStatus = [
      { name: "cluster-net", interface: "eth0", ips: ["10.1.2.3"], mac: "0A:58:0A:01:02:03", default: true },
      { name: "prod/storage-net", interface: "net1", ips: ["192.168.5.7"], mac: "0a:58:c0:a8:05:07" },
    ];

    it("bridge on the pod network: eth0's MAC from network-status, never the derived one", () => {
      const spec = { interfaces: [{ name: "default", binding: "bridge", macAddress: "02:aa:bb:cc:dd:ee" }] };
      const withStatus = decide(
        rawVm(spec),
        observed({ pods: [pod({ specHash: hashOf(spec), networkStatus })] }),
      );
      expect(withStatus.status?.interfaces).toEqual([
        { name: "default", mac: "0a:58:0a:01:02:03", ips: ["10.1.2.3"], podInterface: "eth0" },
      ]);
      const without = decide(rawVm(spec), observed({ pods: [pod({ specHash: hashOf(spec) })] }));
      expect(without.status?.interfaces?.[0]?.mac).toBeUndefined();
    });

    it("masquerade and passt: the spec's or the derived MAC, which the guest does have", () => {
      const spec = { interfaces: [{ name: "default", binding: "masquerade" }] };
      const d = decide(rawVm(spec), observed({ pods: [pod({ specHash: hashOf(spec), networkStatus })] }));
      expect(d.status?.interfaces?.[0]?.mac).toMatch(/^02:/);
      const passt = { interfaces: [{ name: "default", binding: "passt", macAddress: "02:AA:BB:CC:DD:EE" }] };
      const p = decide(rawVm(passt), observed({ pods: [pod({ specHash: hashOf(passt) })] }));
      expect(p.status?.interfaces?.[0]?.mac).toBe("02:aa:bb:cc:dd:ee");
    });

    it("Multus: the attachment's MAC, IPs and pod interface; nothing guessed before Multus reports", () => {
      const d = decide(
        rawVm(multusSpec),
        observed({ pods: [pod({ specHash: hashOf(multusSpec), networkStatus })] }),
      );
      expect(d.status?.interfaces?.[1]).toEqual({
        name: "storage",
        mac: "0a:58:c0:a8:05:07",
        ips: ["192.168.5.7"],
        podInterface: "net1",
      });
      const early = decide(rawVm(multusSpec), observed({ pods: [pod({ specHash: hashOf(multusSpec) })] }));
      expect(early.status?.interfaces?.[1]).toEqual({ name: "storage" });
    });
  });

  it("running but not yet ready is Starting and Reconciling", () => {
    const d = decide(rawVm(), observed({ pods: [pod({ ready: false })] }));
    expect(d.status?.printableStatus).toBe("Starting");
    expect(cond(d, "Reconciling")).toMatchObject({ status: "True", reason: "Starting" });
  });

  it("with a guest readiness probe the VM is Running once the launcher started, Ready once the guest is", () => {
    const spec = { readinessProbe: { tcpSocket: { port: 22 } } };
    const p = pod({ ready: false, launcherStarted: true, specHash: hashOf(spec) });
    const d = decide(rawVm(spec), observed({ pods: [p] }));
    expect(d.status?.printableStatus).toBe("Running");
    expect(cond(d, "Ready")).toMatchObject({ status: "False", reason: "GuestNotReady" });
  });

  it("keeps lastTransitionTime and emits no event when nothing changed", () => {
    const first = decide(rawVm(), observed({ pods: [pod()], now: NOW - 60_000 }));
    const again = decide(rawVm({}, { status: first.status! }), observed({ pods: [pod()] }));
    expect(again.status).toEqual(first.status);
    expect(again.events).toEqual([]);
    expect(first.events).toContainEqual(expect.objectContaining({ type: "Normal", reason: "Running" }));
  });

  it("maps pending pods: unschedulable, image pull errors, volume binding, provisioning", () => {
    const pending = (over: Partial<PodView>) => pod({ phase: "Pending", ready: false, ...over });
    const unsched = decide(
      rawVm(),
      observed({ pods: [pending({ nodeName: undefined, unschedulable: "0/3 nodes have kvm" })] }),
    );
    expect(unsched.status?.printableStatus).toBe("ErrorUnschedulable");
    expect(cond(unsched, "Stalled")).toMatchObject({
      reason: "Unschedulable",
      message: "0/3 nodes have kvm",
    });
    expect(unsched.events[0]).toMatchObject({ type: "Warning", reason: "ErrorUnschedulable" });
    const pull = decide(rawVm(), observed({ pods: [pending({ waiting: { reason: "ImagePullBackOff" } })] }));
    expect(pull.status?.printableStatus).toBe("ImagePullBackOff");
    const binding = decide(
      rawVm(),
      observed({
        pods: [pending({ nodeName: undefined })],
        claims: { "web-root": { found: true, volumeMode: "Filesystem", phase: "Pending" } },
      }),
    );
    expect(binding.status?.printableStatus).toBe("WaitingForVolumeBinding");
    const prov = decide(rawVm(), observed({ pods: [pending({ initialized: false })] }));
    expect(prov.status).toMatchObject({ printableStatus: "Provisioning", phase: "Scheduled" });
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

describe("decide: pause (reported from the user's request)", () => {
  // The CLI records the uid of the launcher pod it paused; pod() is "pod-uid".
  const paused = { [PAUSED_ANNOTATION]: "pod-uid" };
  const probed = { readinessProbe: { tcpSocket: { port: 22 } } };
  const table: [
    string,
    Record<string, unknown>,
    Record<string, string> | undefined,
    PodView | undefined,
    string,
    string,
    string,
    string,
  ][] = [
    // what, spec, annotations, pod, printableStatus, Paused status, Paused reason, Ready reason
    [
      "annotated, pod running and not ready",
      {},
      paused,
      pod({ ready: false }),
      "Paused",
      "True",
      "PausedByUser",
      "Paused",
    ],
    [
      "annotated, pod still ready (probe not yet failed)",
      {},
      paused,
      pod(),
      "Paused",
      "True",
      "PausedByUser",
      "Paused",
    ],
    [
      "annotated, guest probes, launcher started",
      probed,
      paused,
      pod({ ready: false, specHash: hashOf(probed) }),
      "Paused",
      "True",
      "PausedByUser",
      "Paused",
    ],
    ["not annotated, running", {}, undefined, pod(), "Running", "False", "NotPaused", "Ready"],
    [
      "a mark made for an earlier launcher pod",
      {},
      { [PAUSED_ANNOTATION]: "earlier-pod-uid" },
      pod(),
      "Running",
      "False",
      "StaleMark",
      "Ready",
    ],
    [
      'an old-style mark ("true", no pod named)',
      {},
      { [PAUSED_ANNOTATION]: "true" },
      pod({ ready: false }),
      "Starting",
      "False",
      "StaleMark",
      "Starting",
    ],
    [
      "annotated, pod pending",
      {},
      paused,
      pod({ phase: "Pending", ready: false, launcherStarted: false }),
      "Starting",
      "False",
      "NotRunning",
      "Starting",
    ],
    [
      "annotated, pod ended",
      { runStrategy: "Once" },
      paused,
      ended("Succeeded", 600_000),
      "Stopped",
      "False",
      "NotRunning",
      "Succeeded",
    ],
    [
      "annotated, pod terminating",
      {},
      paused,
      pod({ terminating: true }),
      "Stopping",
      "False",
      "NotRunning",
      "Stopping",
    ],
    [
      "annotated, no pod (Halted)",
      { runStrategy: "Halted" },
      paused,
      undefined,
      "Stopped",
      "False",
      "NotRunning",
      "Halted",
    ],
  ];
  for (const [what, spec, annotations, p, printable, pausedStatus, pausedReason, readyReason] of table) {
    it(`${what} → ${printable}, Paused=${pausedStatus} (${pausedReason})`, () => {
      const d = decide(rawVm(spec, annotations ? { annotations } : {}), observed({ pods: p ? [p] : [] }));
      expect(d.status?.printableStatus).toBe(printable);
      expect(cond(d, "Paused")).toMatchObject({ status: pausedStatus, reason: pausedReason });
      // Ready means "as the spec asks": running and ready, paused by the user, or stopped as asked.
      expect(cond(d, "Ready")).toMatchObject({
        status: ["Ready", "Paused", "Succeeded", "Halted"].includes(readyReason) ? "True" : "False",
        reason: readyReason,
      });
      expect(cond(d, "GuestReady")?.status).toBe(readyReason === "Ready" ? "True" : "False");
      expect(d.status?.ready).toBe(readyReason === "Ready");
    });
  }

  it("a paused VM is Running, not Reconciling or Stalled (kstatus Current), keeps its IPs, and says so once", () => {
    const running = decide(rawVm(), observed({ pods: [pod()], now: NOW - 60_000 }));
    const d = decide(
      rawVm({}, { annotations: paused, status: running.status! }),
      observed({ pods: [pod({ ready: false })] }),
    );
    expect(d.status).toMatchObject({ phase: "Running", ready: false, ipAddress: "10.1.2.3" });
    expect(cond(d, "Reconciling")).toBeUndefined();
    expect(cond(d, "Stalled")).toBeUndefined();
    expect(kinds(d)).toEqual([]);
    expect(d.events).toEqual([expect.objectContaining({ type: "Normal", reason: "Paused" })]);
    const unpaused = decide(rawVm({}, { status: d.status! }), observed({ pods: [pod()] }));
    expect(unpaused.status?.printableStatus).toBe("Running");
    expect(cond(unpaused, "Paused")).toMatchObject({ status: "False", reason: "NotPaused" });
  });
});

describe("decide: microvm under emulation", () => {
  const microvm = {
    machine: { type: "microvm" },
    firmware: { kernelBoot: { image: "registry.example/kernels:6.1", kernelPath: "/boot/vmlinuz" } },
  };
  const warned = (d: Decision) =>
    d.events.some((e) => e.type === "Warning" && e.reason === "MicrovmUnderEmulation");

  it("starts the pod and warns once, with the start, when emulation is allowed", () => {
    const d = decide(rawVm(microvm), observed());
    expect(kinds(d)).toEqual(["createPod"]);
    expect(warned(d)).toBe(true);
    expect(cond(d, "Failure")).toBeUndefined();
    const again = decide(
      rawVm(microvm, { status: d.status! }),
      observed({
        pods: [pod({ phase: "Pending", ready: false, nodeName: undefined, specHash: hashOf(microvm) })],
      }),
    );
    expect(warned(again)).toBe(false);
  });

  it("does not warn without emulation, or for q35", () => {
    const kvm = observed();
    kvm.pod = { ...kvm.pod, emulation: false };
    expect(warned(decide(rawVm(microvm), kvm))).toBe(false);
    expect(warned(decide(rawVm(), observed()))).toBe(false);
  });
});

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
