// `vireo start|stop|restart --wait` (bin/vireo.js) against a real kube-apiserver and the real operator
// (in-process); the test plays the kubelet (pod status, as operator-kit's Cluster does). The CLI must exit 0
// once the VM is Running with a ready guest / Stopped, and 1 with the status conditions' reason on failure
// (ErrorPvcNotFound, CrashLoopBackOff) or on timeout.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, expectThat, installCrd, repoRoot, startTestOperator } from "./operator-kit.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vireo(args: string[]): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin/vireo.js"), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", rej);
    child.once("close", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

const cp = useControlPlane();
let cluster: Cluster;
let operator: OperatorHandle;
let opNs: TestNamespace;
let ns: TestNamespace;
const podName = (vm: string) => `vireo-launcher-${vm}`;

beforeAll(async () => {
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  opNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
  ns = await createTestNamespace(cp().kubeConfig, "cli-wait");
  operator = await startTestOperator(cp(), opNs.name, {
    crashLoopBaseSeconds: 120,
    crashLoopMaxSeconds: 300,
    crashLoopMinRunSeconds: 60,
  });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) {
    await cluster.cleanNamespace(ns.name);
    await ns.delete();
  }
  await opNs?.delete();
});

const flags = () => ["-n", ns.name, "--kubeconfig", cp().kubeconfigPath];

async function podAppears(vm: string): Promise<void> {
  await eventually(
    async () => expectThat((await cluster.pod(ns.name, podName(vm))) !== undefined, `${vm}: pod`),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

describe("vireo start|stop --wait", () => {
  it("start --wait returns once the guest is ready, printing each phase once (no terminal)", async () => {
    await cluster.createVm(ns.name, "web", { runStrategy: "Halted" });
    const run = vireo(["start", "web", "--wait", "--timeout", "90s", ...flags()]);
    await podAppears("web");
    await cluster.bind(ns.name, podName("web"));
    await cluster.podRunning(ns.name, podName("web"));
    const r = await run;
    expect(r.stderr).not.toContain("\r");
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.trim().split("\n");
    expect(out[0]).toBe("VM web starting (runStrategy Halted → Always)");
    expect(out[1]).toMatch(/^VM web is Running with a ready guest after [\d.]+s$/);
    const progress = r.stderr.trim().split("\n");
    expect(progress.at(-1)).toMatch(/^VM web: Running \([\d.]+s\)$/);
    expect(new Set(progress).size).toBe(progress.length);
    const vm = await cluster.vm(ns.name, "web");
    expect(vm?.status?.conditions?.find((c) => c.type === "GuestReady")?.status).toBe("True");
  });

  it("restart --wait returns once the guest is ready in the new pod, not the old one", async () => {
    const old = (await cluster.pod(ns.name, podName("web")))!.metadata!.uid;
    const run = vireo(["restart", "web", "--wait", ...flags()]);
    await eventually(
      async () =>
        expectThat(
          (await cluster.pod(ns.name, podName("web")))?.metadata?.deletionTimestamp !== undefined,
          "old pod deleting",
        ),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await cluster.finalizePod(ns.name, podName("web"));
    await eventually(
      async () => {
        const pod = await cluster.pod(ns.name, podName("web"));
        expectThat(pod !== undefined && pod.metadata?.uid !== old, "new pod");
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await cluster.bind(ns.name, podName("web"));
    await cluster.podRunning(ns.name, podName("web"));
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/VM web is Running with a ready guest after [\d.]+s/);
    expect(r.stderr).not.toMatch(/^VM web: Running \(0s\)$/m);
  });

  it("stop --wait returns once the VM is Stopped", async () => {
    const run = vireo(["stop", "web", "--wait", ...flags()]);
    // The pod is bound, so its deletion waits for the kubelet: play it.
    await eventually(
      async () =>
        expectThat(
          (await cluster.pod(ns.name, podName("web")))?.metadata?.deletionTimestamp !== undefined,
          "pod deleting",
        ),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await cluster.finalizePod(ns.name, podName("web"));
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/VM web is Stopped after [\d.]+s/);
  });

  it("start --wait fails at once with the reason when the VM is stuck (ErrorPvcNotFound)", async () => {
    await cluster.createVm(ns.name, "nopvc", {
      runStrategy: "Halted",
      disks: [{ name: "root" }],
      volumes: [{ name: "root", persistentVolumeClaim: { claimName: "nowhere" } }],
    });
    const r = await vireo(["start", "nopvc", "--wait", ...flags()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /vireo start: VM nopvc will not be Running with a ready guest: ErrorPvcNotFound: .*nowhere/,
    );
  });

  it("start --wait fails with the crash's reason (CrashLoopBackOff)", async () => {
    await cluster.createVm(ns.name, "crash", { runStrategy: "Halted" });
    const run = vireo(["start", "crash", "--wait", ...flags()]);
    await podAppears("crash");
    await cluster.bind(ns.name, podName("crash"));
    await cluster.podEnded(ns.name, podName("crash"), "Failed", { ranSeconds: 1, message: "qemu: boom" });
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /vireo start: VM crash will not be Running with a ready guest: CrashLoopBackOff: .*qemu: boom/,
    );
  });

  it("start --wait times out, naming the state it was in", async () => {
    await cluster.createVm(ns.name, "slow", { runStrategy: "Halted" });
    const r = await vireo(["start", "slow", "--wait", "--timeout", "3s", ...flags()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /vireo start: timed out after 3s waiting for VM slow to be Running with a ready guest; it is Starting/,
    );
  });

  it("--timeout without --wait, and a bad duration, are usage errors", async () => {
    expect((await vireo(["start", "web", "--timeout", "5s", ...flags()])).code).toBe(2);
    const bad = await vireo(["stop", "web", "--wait", "--timeout", "soon", ...flags()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--timeout must be a duration such as 90s, 5m or 1m30s; got "soon"/);
  });
});
