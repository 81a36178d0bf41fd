/**
 * The control plane the scale and churn sections run against: the test harness's real etcd and
 * kube-apiserver on loopback, the generated CRD, and the operator as its own process (so its CPU time and
 * memory can be read from /proc), built as the operator image runs it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../../lib/kube/client.ts";
import { freePort } from "../../test/harness/ports.ts";
import { startControlPlane, type ControlPlane } from "../../test/harness/index.ts";
import { ProcessSampler } from "./proc.ts";

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

/** A control plane with the CRD installed, and a keep-alive client for the bench's own requests. */
export interface BenchCluster {
  cp: ControlPlane;
  /** The bench's client (keep-alive; the load it makes is part of the measurement). */
  client: KubeClient;
  stop(): Promise<void>;
}

/** Starts etcd + kube-apiserver and installs the VirtualMachine CRD. */
export async function startBenchCluster(
  maxSockets: number,
  extraApiserverArgs: string[] = [],
): Promise<BenchCluster> {
  const cp = await startControlPlane(extraApiserverArgs.length ? { extraApiserverArgs } : {});
  try {
    await cp.kubectl(["apply", "--server-side", "-f", repo("crds/vireo.dev_virtualmachines.yaml")]);
    await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/virtualmachines.vireo.dev",
    ]);
    const client = await KubeClient.connect(cp.kubeConfig, maxSockets);
    return {
      cp,
      client,
      async stop() {
        client.close();
        await cp.stop();
      },
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

/** Creates a namespace with its default ServiceAccount (pods need it; nothing else would create it here). */
export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name } } });
  await client.request("POST", `/api/v1/namespaces/${name}/serviceaccounts`, {
    body: { metadata: { name: "default" } },
  });
}

/** The operator running as `bin/vireo-operator.js`. */
export interface OperatorProcess {
  pid: number;
  sampler: ProcessSampler;
  /** One value of the operator's /metrics (sum over label sets), or undefined if absent. */
  metric(name: string): Promise<number | undefined>;
  /** Log lines at warn and above, kept for the report. */
  warnings(): string[];
  stop(): Promise<void>;
}

/** Sums every sample of metric `name` in a Prometheus text exposition. */
export function metricValue(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** Starts the operator process against `cp` and waits until its caches have synced (/readyz). */
export async function startOperatorProcess(
  cp: ControlPlane,
  options: { dist: boolean; nodeArgs?: string[]; workers?: number; script?: string },
): Promise<OperatorProcess> {
  const port = await freePort();
  const args = [
    ...(options.nodeArgs ?? []),
    options.script ?? repo("bin/vireo-operator.js"),
    `--kubeconfig=${cp.kubeconfigPath}`,
    "--leader-elect=false",
    "--emulation=true",
    "--launcher-image=localhost/vireo-launcher:bench",
    "--metrics-host=127.0.0.1",
    `--metrics-port=${port}`,
    "--log-level=warn",
    ...(options.workers ? [`--workers=${options.workers}`] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...(options.dist ? { VIREO_USE_DIST: "1" } : {}) },
  });
  const warnings: string[] = [];
  const keep = (d: Buffer) => {
    for (const line of d.toString().split("\n"))
      if (line.trim() && warnings.length < 200) warnings.push(line);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited:\n${warnings.join("\n")}`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the operator was not ready within 120 s:\n${warnings.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const sampler = new ProcessSampler(child.pid!);
  return {
    pid: child.pid!,
    sampler,
    async metric(name) {
      const text = await (await fetch(`${base}/metrics`)).text();
      return metricValue(text, name);
    },
    warnings: () => warnings,
    async stop() {
      sampler.stop();
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}
