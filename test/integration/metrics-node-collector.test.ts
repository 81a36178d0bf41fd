/**
 * Per-VM metrics of a **bridge** VM, which Prometheus cannot scrape at the pod IP (the guest holds it),
 * reach Prometheus through the node's collector: `vireo run` boots the test guest under TCG with the
 * default bridge binding in a network namespace; its launcher serves metrics.sock in its run directory,
 * which the test places where the kubelet keeps a pod's `run` emptyDir; the real device plugin process
 * (`--pods-dir`, `--pod-logs-dir`) serves /vm-metrics; a real Prometheus scrapes it with the endpoint the
 * chart's PodMonitor renders (path, honorLabels), and PromQL returns the VM's series with its namespace,
 * name and pod. Two hostile "pods" on the same node try the side doors: one links its metrics.sock to the
 * VM's socket (to read another namespace's metrics as its own), one serves series claiming the VM's
 * namespace and injecting other components' names; neither gets anything past the collector.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { eventually } from "../harness/eventually.ts";
import { helm } from "../harness/index.ts";
import { freePort } from "../harness/ports.ts";
import { startComponent, type ComponentProcess } from "../harness/process.ts";

const BOOT_MS = 240_000;
const COMMAND_MS = 120_000;
const VIREO = fileURLToPath(new URL("../../bin/vireo.js", import.meta.url));
const PLUGIN = fileURLToPath(new URL("../../bin/vireo-device-plugin.js", import.meta.url));

const root = mkdtempSync(join(tmpdir(), "vireo-node-collector-"));
const workDir = join(root, "work");
const podsDir = join(root, "kubelet/pods");
const podLogsDir = join(root, "log/pods");
const runVolume = (uid: string) => join(podsDir, uid, "volumes/kubernetes.io~empty-dir/run");

const VM_UID = randomUUID();
const LINKER_UID = randomUUID();
const SPOOFER_UID = randomUUID();
const VM_POD = "vireo-web-x7k2p";

let run: ChildProcess | undefined;
let runExited: Promise<number | null> | undefined;
let runOutput = "";
let serial: SerialConsole | undefined;
let plugin: ComponentProcess | undefined;
let prometheus: ComponentProcess | undefined;
let spoofer: Server | undefined;
let pluginPort = 0;
let podIp = "";
let config: LauncherConfig;
let gateway = "";

// No `binding:`: the default, bridge.
const MANIFEST = `
apiVersion: vireo.dev/v1alpha1
kind: VirtualMachine
metadata:
  name: web
  namespace: prod
spec:
  memory:
    guest: 256Mi
  firmware:
    kernelBoot:
      image: vireo.dev/test-guest
      kernelPath: /boot/vmlinuz
      initrdPath: /boot/initramfs.cpio.gz
      cmdline: console=ttyS0 vireo.dhcp=1
  interfaces:
    - name: default
  networks:
    - name: default
      pod: {}
  terminationGracePeriodSeconds: 30
`;

/** The kubelet's part: a pod directory with a `run` emptyDir and a log directory naming the pod. */
function kubeletPod(uid: string, namespace: string, pod: string): string {
  const dir = runVolume(uid);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(podLogsDir, `${namespace}_${pod}_${uid}`), { recursive: true });
  return dir;
}

beforeAll(async () => {
  // The VM's pod: the launcher's run directory *is* the pod's `run` volume, as the operator mounts it. A link
  // from the work directory (the launcher's side) keeps the collector's path free of links, like the kubelet's.
  const vmRun = kubeletPod(VM_UID, "prod", VM_POD);
  mkdirSync(join(workDir, "var/run"), { recursive: true });
  symlinkSync(vmRun, join(workDir, "var/run/vireo"));
  // Hostile pod 1 (namespace "attacker"): links its metrics.sock to the VM's socket.
  symlinkSync(
    join(vmRun, "metrics.sock"),
    join(kubeletPod(LINKER_UID, "attacker", "linker"), "metrics.sock"),
  );
  // Hostile pod 2 (namespace "spoof"): a real socket whose series claim to be prod/web, plus names that are
  // not per-VM. Listened on through a short link: a unix socket path may have at most 107 bytes.
  const spoofRun = kubeletPod(SPOOFER_UID, "spoof", "spoofer");
  symlinkSync(spoofRun, join(root, "s"));
  spoofer = createServer((_req, res) =>
    res.end(
      [
        "# TYPE vireo_vm_info gauge",
        'vireo_vm_info{namespace="prod",name="web",pod="' +
          VM_POD +
          '",machine="q35",firmware="kernel",accelerator="tcg"} 1',
        "# TYPE up gauge",
        "up 1",
        "# TYPE vireo_deviceplugin_devices gauge",
        'vireo_deviceplugin_devices{resource="devices.vireo.dev/kvm",health="Healthy"} 999',
        "",
      ].join("\n"),
    ),
  );
  await new Promise<void>((r) => spoofer!.listen(join(root, "s/metrics.sock"), r));

  writeFileSync(join(root, "vm.yaml"), MANIFEST);
  run = spawn(
    "setpriv",
    [
      "--pdeathsig",
      "TERM",
      "--",
      process.execPath,
      VIREO,
      "run",
      join(root, "vm.yaml"),
      "--work-dir",
      workDir,
      "--timeout",
      "1800",
    ],
    { env: { ...process.env, VIREO_ACCEL: "tcg" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  const child = run;
  runExited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  child.stderr!.on("data", (chunk: Buffer) => (runOutput += chunk.toString()));
  const failed = (what: string) => new Error(`${what}; vireo run said:\n${runOutput.slice(-4000)}`);
  podIp = await eventually(
    async () => {
      const match = /pod IP (\d+\.\d+\.\d+\.\d+)\/\d+, host (\d+\.\d+\.\d+\.\d+)/.exec(runOutput);
      if (!match) throw failed("no pod namespace yet");
      // The host end of the pod's link: the guest's peer (the standalone pod has no router).
      gateway = match[2]!;
      return match[1]!;
    },
    { timeoutMs: 60_000, description: "vireo run created the pod namespace" },
  );
  const configFile = join(workDir, "launcher-config.json");
  await eventually(async () => expect(existsSync(configFile)).toBe(true), { timeoutMs: 60_000 });
  config = launcherConfigSchema.parse(JSON.parse(readFileSync(configFile, "utf8")));
  expect(config.interfaces.map((i) => i.binding)).toEqual(["bridge"]);

  pluginPort = await freePort();
  for (const d of ["dp", "dev", "nodes"]) mkdirSync(join(root, d));
  plugin = startComponent(
    "vireo-device-plugin",
    process.execPath,
    [
      PLUGIN,
      `--device-plugin-dir=${join(root, "dp")}`,
      `--dev-dir=${join(root, "dev")}`,
      `--node-dir=${join(root, "nodes")}`,
      `--health-port=${pluginPort}`,
      `--pods-dir=${podsDir}`,
      `--pod-logs-dir=${podLogsDir}`,
    ],
    join(root, "device-plugin.log"),
  );

  try {
    serial = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 120_000,
    });
    const report = await serial.waitForReady(BOOT_MS);
    expect(report.addresses[0]?.ip, "the bridge guest holds the pod IP").toBe(podIp);
    await serial.waitForShell(BOOT_MS);
  } catch (cause) {
    throw new Error(failed("guest not ready").message, { cause });
  }
}, BOOT_MS + 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await plugin?.stop();
  await new Promise<void>((r) => (spoofer ? spoofer.close(() => r()) : r()));
  serial?.close();
  if (run && run.exitCode === null && run.signalCode === null) {
    run.kill("SIGTERM");
    const done = await Promise.race([runExited, new Promise((r) => setTimeout(() => r("timeout"), 120_000))]);
    if (done === "timeout") {
      run.kill("SIGKILL");
      await runExited;
      spawnSync("ip", ["netns", "del", `vireo-run-${run.pid}`]);
    }
  }
  rmSync(root, { recursive: true, force: true });
}, 180_000);

const resultSchema = z.object({
  status: z.literal("success"),
  data: z.object({
    result: z.array(
      z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) }),
    ),
  }),
});

/** The chart's PodMonitor for per-VM metrics, as `helm template` renders it. */
async function chartPodMonitor(): Promise<{ path: string; honorLabels: boolean; port: string }> {
  const out = await helm(["template", "t", "charts/vireo", "--set", "monitoring.podMonitor.enabled=true"]);
  const docs = parseAllDocuments(out.stdout).map(
    (d) => d.toJS() as { kind?: string; metadata?: { name: string }; spec?: unknown },
  );
  const monitor = docs.find((d) => d?.kind === "PodMonitor" && d.metadata?.name === "t-vireo-vm-metrics");
  return z
    .object({
      podMetricsEndpoints: z.tuple([
        z.object({ path: z.string(), honorLabels: z.boolean(), port: z.string() }).loose(),
      ]),
    })
    .loose()
    .parse(monitor?.spec).podMetricsEndpoints[0];
}

describe("per-VM metrics of a bridge VM through the node collector", () => {
  it("are not reachable at the pod IP: that address is the guest's", async () => {
    const answer = await fetch(`http://${podIp}:${config.http.port}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (r) => `${r.status} ${await r.text()}`)
      .catch((err: Error) => `failed: ${err.message}`);
    expect(answer).not.toContain("vireo_vm_info");
  });

  it("are scraped by a real Prometheus with the chart's PodMonitor endpoint, namespaced by the kubelet's layout", async () => {
    const endpoint = await chartPodMonitor();
    expect(endpoint).toMatchObject({ path: "/vm-metrics", honorLabels: true, port: "metrics" });
    const port = await freePort();
    const dir = join(root, "prometheus");
    mkdirSync(join(dir, "data"), { recursive: true });
    const configPath = join(dir, "prometheus.yml");
    const target = `127.0.0.1:${pluginPort}`;
    writeFileSync(
      configPath,
      [
        "global: { scrape_interval: 3s, scrape_timeout: 3s }",
        "scrape_configs:",
        "  - job_name: vireo-vm-metrics",
        `    metrics_path: ${endpoint.path}`,
        `    honor_labels: ${endpoint.honorLabels}`,
        `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
        "",
      ].join("\n"),
    );
    prometheus = startComponent(
      "prometheus",
      "prometheus",
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      join(dir, "prometheus.log"),
    );
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (promql: string) => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      return resultSchema.parse(await res.json()).data.result;
    };
    const nonEmpty = (promql: string, description: string) =>
      eventually(
        async () => {
          const result = await query(promql);
          if (result.length === 0) throw new Error(`${promql}: no result yet`);
          return result;
        },
        { timeoutMs: 90_000, intervalMs: 1000, description },
      );

    await nonEmpty('vireo_vm_info{namespace="prod"}', "Prometheus scraped the collector");
    const info = await query("vireo_vm_info");
    expect(info.map((r) => r.metric).sort((a, b) => a.namespace!.localeCompare(b.namespace!))).toEqual([
      {
        __name__: "vireo_vm_info",
        namespace: "prod",
        name: "web",
        pod: VM_POD,
        machine: "q35",
        firmware: "kernel",
        accelerator: "tcg",
        job: "vireo-vm-metrics",
        instance: target,
      },
      // The spoofer claimed prod/web; it is filed under its own namespace, as the kubelet names it.
      {
        __name__: "vireo_vm_info",
        namespace: "spoof",
        name: "web",
        pod: "spoofer",
        machine: "q35",
        firmware: "kernel",
        accelerator: "tcg",
        job: "vireo-vm-metrics",
        instance: target,
      },
    ]);
    // The linker's metrics.sock (a link to prod's socket) was refused, and nothing but vireo_vm_* came through.
    expect(await query('{namespace="attacker"}')).toEqual([]);
    expect(await query('{__name__=~"vireo_deviceplugin_.*", job="vireo-vm-metrics"}')).toEqual([]);
    expect((await query('up{job="vireo-vm-metrics"}')).map((r) => r.value[1])).toEqual(["1"]);

    // The guest pings its gateway; its NIC's counters reach Prometheus through the collector.
    await serial!.check(`ping -c 20 -i 0.2 -s 1000 ${gateway}`, COMMAND_MS);
    const sent = await nonEmpty(
      `vireo_vm_network_transmit_bytes_total{namespace="prod", name="web", interface="default"} >= ${20 * 1042}`,
      "the pings in Prometheus",
    );
    expect(sent[0]!.metric).toMatchObject({
      namespace: "prod",
      name: "web",
      pod: VM_POD,
      interface: "default",
    });
    const byVm = await query("sum by (namespace, name) (rate(vireo_vm_cpu_usage_seconds_total[1m]))");
    expect(byVm.map((r) => r.metric)).toEqual([{ namespace: "prod", name: "web" }]);

    // The plugin counted the refusal of the link.
    const own = await (
      await fetch(`http://${target}/metrics`, { signal: AbortSignal.timeout(10_000) })
    ).text();
    expect(own).toMatch(/vireo_deviceplugin_vm_metrics_reads_total\{result="refused"\} [1-9]/);
    expect(readFileSync(join(root, "device-plugin.log"), "utf8")).toMatch(
      /is not a socket \(a link or a file\): refused/,
    );
  });
});
