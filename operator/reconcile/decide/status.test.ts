import { describe, expect, it } from "vitest";
import { ANNOTATION_PAUSED } from "../../../crds/contract/index.ts";
import type { PodView } from "../pod-view.ts";
import { decide } from "./decide.ts";
import { NOW, rawVm, hashOf, pod, ended, observed, kinds, cond } from "./testing.ts";
import type { Decision } from "./inputs.ts";
import type { AgentObservation } from "./guest-agent.ts";

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

describe("decide: pause (reported from the user's request)", () => {
  // The CLI records the uid of the launcher pod it paused; pod() is "pod-uid".
  const paused = { [ANNOTATION_PAUSED]: "pod-uid" };
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
      { [ANNOTATION_PAUSED]: "earlier-pod-uid" },
      pod(),
      "Running",
      "False",
      "StaleMark",
      "Ready",
    ],
    [
      'an old-style mark ("true", no pod named)',
      {},
      { [ANNOTATION_PAUSED]: "true" },
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

describe("decide: status from the guest agent", () => {
  const report = (over: Partial<AgentObservation> = {}) => ({
    podUid: "pod-uid",
    connected: true,
    reason: "Connected",
    message: "the agent answers",
    osInfo: { id: "debian", versionId: "12", kernelRelease: "6.1.0-28-cloud-amd64" },
    info: { hostname: "web", timezone: { zone: "UTC", offsetSeconds: 0 }, users: [{ name: "debian" }] },
    interfaces: [{ name: "enp1s0", mac: "52:54:00:AA:BB:CC", ips: ["10.1.2.3", "fe80::5054:ff:feaa:bbcc"] }],
    ...over,
  });

  it("a connected agent of the running pod: guestOSInfo, guestAgentInfo, AgentConnected=True, the guest's IPs", () => {
    const d = decide(rawVm(), observed({ pods: [pod()], agent: report() }));
    expect(d.status?.guestOSInfo).toEqual({
      id: "debian",
      versionId: "12",
      kernelRelease: "6.1.0-28-cloud-amd64",
    });
    expect(d.status?.guestAgentInfo).toMatchObject({ hostname: "web", users: [{ name: "debian" }] });
    expect(cond(d, "AgentConnected")).toMatchObject({ status: "True", reason: "Connected" });
    // Bridge binding without network-status: matched by the pod IP the guest holds; its MAC and IPv6 added.
    expect(d.status?.interfaces).toEqual([
      {
        name: "default",
        mac: "52:54:00:aa:bb:cc",
        ips: ["10.1.2.3", "fe80::5054:ff:feaa:bbcc"],
        podInterface: "eth0",
        infoSource: "pod, guest-agent",
      },
    ]);
  });

  it("a disconnected agent: AgentConnected=False with its reason, no guest fields", () => {
    const d = decide(
      rawVm(),
      observed({ pods: [pod()], agent: report({ connected: false, reason: "Flooding", message: "floods" }) }),
    );
    expect(cond(d, "AgentConnected")).toMatchObject({
      status: "False",
      reason: "Flooding",
      message: "floods",
    });
    expect(d.status?.guestOSInfo).toBeUndefined();
    expect(d.status?.interfaces?.[0]?.ips).toEqual(["10.1.2.3"]);
  });

  it("a report from another pod (the previous launcher) is ignored", () => {
    const d = decide(rawVm(), observed({ pods: [pod()], agent: report({ podUid: "old-pod" }) }));
    expect(cond(d, "AgentConnected")).toBeUndefined();
    expect(d.status?.guestOSInfo).toBeUndefined();
  });
});
