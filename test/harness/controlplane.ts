import { readFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { binDir as defaultBinDir, resolveBinary } from "./binaries.ts";
import { type CommandOptions, helm, kubectl } from "./commands.ts";
import { ComponentExitedError, HarnessError, PortInUseError, StartTimeoutError } from "./errors.ts";
import type { ControlPlane, ControlPlaneCore } from "./controlplane-types.ts";
import { connectExternalCluster, externalClusterRequested } from "./external.ts";
import { renderKubeconfig, serviceAccountKubeconfig, writeKubeconfig } from "./kubeconfig.ts";
import { createPki, pemAsBase64, type ControlPlanePki } from "./pki.ts";
import { freePorts } from "./ports.ts";
import { httpGet, pollUntilReady, type ProbeTls } from "./probe.ts";
import { type ComponentProcess, describeExit, logTail, startComponent } from "./process.ts";

const portSchema = z.number().int().min(1).max(65_535);

const optionsSchema = z
  .object({
    /** Directory with etcd and kube-apiserver; default binDir(). */
    binDir: z.string().optional(),
    /** Fixed ports; any left out are asked from the OS. Fixed ports are not retried on a clash. */
    ports: z
      .object({
        etcdClient: portSchema.optional(),
        etcdPeer: portSchema.optional(),
        apiserver: portSchema.optional(),
      })
      .strict()
      .optional(),
    /** Deadline for each component to become ready; default 120 s (a busy 2-core machine is slow). */
    startTimeoutMs: z.number().int().positive().optional(),
    /** Extra etcd flags (tests use this to make etcd fail). */
    extraEtcdArgs: z.array(z.string()).optional(),
    /** Extra kube-apiserver flags, e.g. feature gates. */
    extraApiserverArgs: z.array(z.string()).optional(),
    /** Use the cluster in KUBECONFIG; default: VIREO_TEST_EXTERNAL_CLUSTER=1 with KUBECONFIG set. */
    external: z.boolean().optional(),
  })
  .strict();

// The handle types live apart so external.ts can name them without importing this file (no circle).
export type { ControlPlane, ControlPlaneCore } from "./controlplane-types.ts";

/** Options for {@link startControlPlane}. */
export type ControlPlaneOptions = z.input<typeof optionsSchema>;

/**
 * Starts etcd and kube-apiserver on 127.0.0.1 (RBAC, client-cert admin, service-account signing keys) and
 * waits for /readyz; or, with VIREO_TEST_EXTERNAL_CLUSTER=1 and KUBECONFIG set, connects to that cluster.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new HarnessError("INVALID_OPTIONS", `invalid control plane options: ${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  const opts = parsed.data;
  if (opts.external ?? externalClusterRequested()) return connectExternalCluster(bindHelpers);
  const dir = opts.binDir ?? defaultBinDir();
  const bins = { etcd: resolveBinary("etcd", dir), apiserver: resolveBinary("kube-apiserver", dir) };
  const fixedPorts = opts.ports !== undefined && Object.keys(opts.ports).length > 0;
  // Ports come from the OS but are free only until someone else binds them; retry such a clash a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, bins);
    } catch (err) {
      if (!(err instanceof PortInUseError) || fixedPorts || attempt >= 3) throw err;
      // This attempt's logs explain nothing the next attempt needs.
      if (err.logPath !== undefined) {
        await rm(dirname(dirname(err.logPath)), { recursive: true, force: true });
      }
    }
  }
}

type ParsedOptions = z.output<typeof optionsSchema>;

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

async function choosePorts(fixed: ParsedOptions["ports"]): Promise<Ports> {
  const [a, b, c] = (await freePorts(3)) as [number, number, number];
  return {
    etcdClient: fixed?.etcdClient ?? a,
    etcdPeer: fixed?.etcdPeer ?? b,
    apiserver: fixed?.apiserver ?? c,
  };
}

function etcdArgs(dir: string, ports: Ports): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    "--name=vireo-test",
    `--data-dir=${join(dir, "etcd-data")}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=vireo-test=${peer}`,
    // The data is thrown away after the test; skipping fsync keeps a busy disk from slowing every write.
    "--unsafe-no-fsync",
  ];
}

function apiserverArgs(dir: string, ports: Ports, pki: ControlPlanePki): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    // Kubernetes 1.37 refuses a loopback advertise address with an endpoint reconciler ("may not be in the
    // loopback range"); nothing here reaches the API server through the kubernetes Service anyway.
    "--endpoint-reconciler-type=none",
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${join(dir, "apiserver-certs")}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    "--authorization-mode=RBAC",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    "--allow-privileged=true",
    "--profiling=false",
  ];
}

/** Turns "this process is gone" into the error that names it, its port clash if any, and its log. */
function exitError(proc: ComponentProcess, port: number): HarnessError {
  const tail = logTail(proc.logPath);
  if (/address already in use/.test(tail)) return new PortInUseError(proc.name, port, proc.logPath);
  return new ComponentExitedError(
    proc.name,
    describeExit(proc.exit ?? { code: null, signal: null }),
    proc.logPath,
    tail,
  );
}

interface Running {
  proc: ComponentProcess;
  port: number;
}

function assertAlive(running: readonly Running[]): void {
  for (const { proc, port } of running) if (proc.exit !== undefined) throw exitError(proc, port);
}

async function startOnce(
  opts: ParsedOptions,
  bins: { etcd: string; apiserver: string },
): Promise<ControlPlane> {
  const started = Date.now();
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const dir = await mkdtemp(join(tmpdir(), "vireo-cp-"));
  const logsDir = join(dir, "logs");
  await mkdir(logsDir);
  const running: Running[] = [];
  const stopAll = async (): Promise<void> => {
    // kube-apiserver's graceful shutdown waits on etcd; when a component already died, don't wait long.
    const graceMs = running.some(({ proc }) => proc.exit !== undefined) ? 3_000 : 10_000;
    for (const { proc } of [...running].reverse()) await proc.stop(graceMs);
  };
  try {
    const pki = await createPki(join(dir, "pki")).catch((cause: unknown) => {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new HarnessError(
        "PKI_FAILED",
        `openssl could not create the certificates in ${dir}/pki: ${why}`,
        {
          component: "openssl",
          cause,
        },
      );
    });
    const ports = await choosePorts(opts.ports);
    const etcdLog = join(logsDir, "etcd.log");
    const etcd = startComponent(
      "etcd",
      bins.etcd,
      [...etcdArgs(dir, ports), ...(opts.extraEtcdArgs ?? [])],
      etcdLog,
    );
    running.push({ proc: etcd, port: ports.etcdClient });
    await waitReady(etcd, running, timeoutMs, async () => {
      const res = await httpGet(`http://127.0.0.1:${ports.etcdClient}/health`);
      return res.status === 200 && /"health":\s*"true"/.test(res.body)
        ? { ready: true }
        : { ready: false, problem: `/health answered ${res.status} ${res.body.trim()}` };
    });

    const apiserverLog = join(logsDir, "kube-apiserver.log");
    const args = [...apiserverArgs(dir, ports, pki), ...(opts.extraApiserverArgs ?? [])];
    const apiserver = startComponent("kube-apiserver", bins.apiserver, args, apiserverLog);
    running.push({ proc: apiserver, port: ports.apiserver });
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const tls: ProbeTls = {
      ca: await readFile(pki.caCert),
      cert: await readFile(pki.adminCert),
      key: await readFile(pki.adminKey),
    };
    await waitReady(apiserver, running, timeoutMs, async () => {
      const ready = await httpGet(`${server}/readyz?verbose`, tls);
      if (ready.status !== 200)
        return { ready: false, problem: `/readyz answered ${ready.status}: ${failingChecks(ready.body)}` };
      // The default namespace is made by a start-up hook that may finish just after /readyz turns green.
      const ns = await httpGet(`${server}/api/v1/namespaces/default`, tls);
      return ns.status === 200
        ? { ready: true }
        : { ready: false, problem: `namespace default: ${ns.status}` };
    });

    const kubeconfigPath = join(dir, "admin.kubeconfig");
    const text = renderKubeconfig({ server, caData: await pemAsBase64(pki.caCert) }, "vireo-admin", {
      certData: await pemAsBase64(pki.adminCert),
      keyData: await pemAsBase64(pki.adminKey),
    });
    const kubeConfig = await writeKubeconfig(kubeconfigPath, text);
    let stopped = false;
    return bindHelpers({
      kubeConfig,
      kubeconfigPath,
      server,
      external: false,
      dir,
      logs: { etcd: etcdLog, "kube-apiserver": apiserverLog },
      pids: { etcd: etcd.pid, "kube-apiserver": apiserver.pid },
      startupMs: Date.now() - started,
      checkAlive: () => assertAlive(running),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
        if (process.env.VIREO_KEEP_CONTROL_PLANE === "1") {
          console.warn(`VIREO_KEEP_CONTROL_PLANE=1: kept ${dir}`);
          return;
        }
        await rm(dir, { recursive: true, force: true });
      },
    });
  } catch (err) {
    await stopAll();
    if (running.length === 0) {
      await rm(dir, { recursive: true, force: true });
    } else {
      // Keep the logs the error points at; drop the data and the keys.
      await Promise.all(
        ["etcd-data", "pki", "apiserver-certs"].map((sub) =>
          rm(join(dir, sub), { recursive: true, force: true }),
        ),
      );
    }
    throw err;
  }
}

async function waitReady(
  proc: ComponentProcess,
  running: readonly Running[],
  timeoutMs: number,
  check: () => Promise<{ ready: true } | { ready: false; problem: string }>,
): Promise<void> {
  // A check can hang until its own timeout (e.g. on a port someone else accepts on); a process exit ends
  // the wait at once, and beforeCheck then reports which process it was.
  const anyExit = Promise.race(running.map(({ proc }) => proc.exited));
  const checkOrExit = () =>
    Promise.race([check(), anyExit.then(() => ({ ready: false as const, problem: "a component exited" }))]);
  const result = await pollUntilReady(checkOrExit, { timeoutMs, beforeCheck: () => assertAlive(running) });
  if (!result.ready) throw new StartTimeoutError(proc.name, timeoutMs, proc.logPath, result.problem);
}

/** The "[-]name failed" lines of a /readyz?verbose answer, or the body when there are none. */
function failingChecks(body: string): string {
  const failed = body.split("\n").filter((line) => line.startsWith("[-]"));
  return failed.length > 0 ? failed.join("; ") : body.trim().slice(0, 200);
}

/** Adds the kubectl/helm/service-account helpers, which keep their files in the control plane's dir. */
export function bindHelpers(core: ControlPlaneCore): ControlPlane {
  const withScratch = (options?: CommandOptions): CommandOptions => ({ scratchDir: core.dir, ...options });
  return {
    ...core,
    kubectl: (args, options) => kubectl(args, core.kubeconfigPath, withScratch(options)),
    helm: (args, options) => helm(args, core.kubeconfigPath, withScratch(options)),
    serviceAccountKubeconfig: (namespace, name, options) =>
      serviceAccountKubeconfig(core.kubeConfig, namespace, name, { dir: core.dir, ...options }),
  };
}
