/**
 * The launcher's /metrics as the cluster sees it: `vireo run` (standalone mode: a network namespace plays
 * the pod, the same vireo-launcher a pod runs) boots the test guest under TCG with a disk and a masquerade
 * NIC; a real Prometheus on loopback scrapes the launcher at the pod IP and answers PromQL with per-VM
 * series; promtool lints the scrape; a stopped QEMU (SIGSTOP) does not stop /metrics from answering.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";
import { startComponent, type ComponentProcess } from "../harness/process.ts";

const MiB = 2 ** 20;
const BOOT_MS = 240_000;
const COMMAND_MS = 120_000;
const VIREO = fileURLToPath(new URL("../../bin/vireo.js", import.meta.url));

const root = mkdtempSync(join(tmpdir(), "vireo-metrics-launcher-"));
const workDir = join(root, "work");
let run: ChildProcess | undefined;
let runExited: Promise<number | null> | undefined;
let runOutput = "";
let serial: SerialConsole | undefined;
let prometheus: ComponentProcess | undefined;
let podIp = "";
let config: LauncherConfig;
let gateway = "";

const MANIFEST = `
apiVersion: vireo.dev/v1alpha1
kind: VirtualMachine
metadata:
  name: web
  namespace: prod
spec:
  cpu:
    cores: 2
  memory:
    guest: 256Mi
  firmware:
    kernelBoot:
      image: vireo.dev/test-guest
      kernelPath: /boot/vmlinuz
      initrdPath: /boot/initramfs.cpio.gz
      cmdline: console=ttyS0 vireo.dhcp=1
  disks:
    - name: data
  volumes:
    - name: data
      emptyDisk:
        capacity: 64Mi
  interfaces:
    - name: default
      binding: masquerade
  networks:
    - name: default
      pod: {}
  terminationGracePeriodSeconds: 30
`;

const metricsUrl = () => `http://${podIp}:${config.http.port}/metrics`;

async function scrape(): Promise<string> {
  // Generous on purpose: it only tells "answers" from "hangs"; the deadline itself is 2 s.
  const response = await fetch(metricsUrl(), { signal: AbortSignal.timeout(30_000) });
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one exposition line, e.g. `vireo_vm_info{namespace="prod",...}`. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in the scrape`);
  return Number(line.slice(series.length + 1));
}

const vm = 'namespace="prod",name="web"';
const errors = (text: string, source: string) =>
  sample(text, `vireo_vm_scrape_errors_total{${vm},source="${source}"}`);

beforeAll(async () => {
  mkdirSync(workDir);
  const manifest = join(root, "vm.yaml");
  writeFileSync(manifest, MANIFEST);
  // setpriv: should this test process die, `vireo run` gets SIGTERM and removes its namespace.
  run = spawn(
    "setpriv",
    [
      "--pdeathsig",
      "TERM",
      "--",
      process.execPath,
      VIREO,
      "run",
      manifest,
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
      const match = /pod IP (\d+\.\d+\.\d+\.\d+)\//.exec(runOutput);
      if (!match) throw failed("no pod namespace yet");
      return match[1]!;
    },
    { timeoutMs: 60_000, description: "vireo run created the pod namespace" },
  );
  const configFile = join(workDir, "launcher-config.json");
  await eventually(async () => expect(existsSync(configFile)).toBe(true), { timeoutMs: 60_000 });
  config = launcherConfigSchema.parse(JSON.parse(readFileSync(configFile, "utf8")));
  serial = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
    connectTimeoutMs: 120_000,
  });
  try {
    const report = await serial.waitForReady(BOOT_MS);
    gateway = report.addresses[0]?.routers[0] ?? "";
    expect(gateway, "the guest got a lease with a router").not.toBe("");
    await serial.waitForShell(BOOT_MS);
  } catch (cause) {
    throw new Error(failed("guest not ready").message, { cause });
  }
}, BOOT_MS + 180_000);

afterAll(async () => {
  await prometheus?.stop();
  serial?.close();
  if (run && run.exitCode === null && run.signalCode === null) {
    // vireo run powers the guest off, stops the launcher and removes the namespace and work directory.
    run.kill("SIGTERM");
    const done = await Promise.race([runExited, new Promise((r) => setTimeout(() => r("timeout"), 120_000))]);
    if (done === "timeout") {
      run.kill("SIGKILL"); // the launcher follows through its parent-death signal, QEMU through its own
      await runExited;
      // setpriv execs node, so the namespace vireo run made is named after this pid.
      spawnSync("ip", ["netns", "del", `vireo-run-${run.pid}`]);
    }
  }
  rmSync(root, { recursive: true, force: true });
}, 180_000);

describe("the launcher's /metrics", () => {
  it("is scraped by a real Prometheus, whose queries return the VM's series with its namespace and name", async () => {
    const port = await freePort();
    const dir = join(root, "prometheus");
    mkdirSync(join(dir, "data"), { recursive: true });
    const configPath = join(dir, "prometheus.yml");
    const target = `${podIp}:${config.http.port}`;
    writeFileSync(
      configPath,
      [
        "global: { scrape_interval: 3s, scrape_timeout: 3s, evaluation_interval: 3s }",
        `rule_files: [${JSON.stringify(join(process.cwd(), "charts/vireo/files/alerts.yaml"))}]`,
        "scrape_configs:",
        "  - job_name: vireo-launcher",
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
    const resultSchema = z.object({
      status: z.literal("success"),
      data: z.object({
        result: z.array(
          z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) }),
        ),
      }),
    });
    const query = async (promql: string) => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      return resultSchema.parse(await res.json()).data.result;
    };
    const nonEmpty = async (promql: string, description: string) =>
      eventually(
        async () => {
          const result = await query(promql);
          if (result.length === 0) throw new Error(`${promql}: no result yet`);
          return result;
        },
        { timeoutMs: 90_000, intervalMs: 1000, description },
      );

    const info = await nonEmpty("vireo_vm_info", "Prometheus scraped the launcher");
    expect(info.map((r) => r.metric)).toEqual([
      {
        __name__: "vireo_vm_info",
        namespace: "prod",
        name: "web",
        machine: "q35",
        firmware: "kernel",
        accelerator: "tcg",
        job: "vireo-launcher",
        instance: target,
      },
    ]);
    const vcpus = await query('vireo_vm_vcpu_seconds_total{namespace="prod", name="web"}');
    expect(vcpus.map((r) => r.metric.vcpu).sort()).toEqual(["0", "1"]);

    // The guest writes 4 MiB to its disk and pings its gateway; Prometheus sees both through the launcher.
    await serial!.check("dd if=/dev/urandom of=/dev/vda bs=64k count=64 oflag=direct conv=fsync", COMMAND_MS);
    await serial!.check(`ping -c 20 -i 0.2 -s 1000 ${gateway}`, COMMAND_MS);
    const written = await nonEmpty(
      `vireo_vm_storage_write_traffic_bytes_total{namespace="prod", name="web", drive="data"} >= ${4 * MiB}`,
      "the write in Prometheus",
    );
    expect(written[0]!.metric).toMatchObject({ namespace: "prod", name: "web", drive: "data" });
    const sent = await nonEmpty(
      `vireo_vm_network_transmit_bytes_total{namespace="prod", name="web", interface="default"} >= ${20 * 1042}`,
      "the pings in Prometheus",
    );
    expect(sent[0]!.metric).toMatchObject({ namespace: "prod", name: "web", interface: "default" });
    const byVm = await query("sum by (namespace, name) (rate(vireo_vm_cpu_usage_seconds_total[1m]))");
    expect(byVm.map((r) => r.metric)).toEqual([{ namespace: "prod", name: "web" }]);

    // The alert rules load and evaluate against the launcher's real series without errors.
    const rulesSchema = z.object({
      data: z.object({
        groups: z.array(
          z.object({
            rules: z.array(
              z.looseObject({ name: z.string(), health: z.string(), lastEvaluation: z.string() }),
            ),
          }),
        ),
      }),
    });
    const rules = await eventually(
      async () => {
        const res = await fetch(`${api}/rules`, { signal: AbortSignal.timeout(10_000) });
        const all = rulesSchema.parse(await res.json()).data.groups.flatMap((g) => g.rules);
        if (all.length === 0 || all.some((r) => r.lastEvaluation.startsWith("0001")))
          throw new Error("not evaluated yet");
        return all;
      },
      { timeoutMs: 60_000, intervalMs: 1000, description: "alert rules evaluated" },
    );
    expect(rules.map((r) => r.name)).toContain("VireoVMGuestMemoryPressure");
    for (const rule of rules) expect(rule.health, rule.name).toBe("ok");
  });

  it("passes promtool check metrics", async () => {
    const text = await scrape();
    expect(sample(text, `vireo_vm_state{${vm},state="running"}`)).toBe(1);
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr.on("data", (c: Buffer) => (output += c.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, output }));
      child.stdin.end(text);
    });
    expect(result, result.output).toEqual({ code: 0, output: "" });
  });

  it("answers while QEMU is stopped, serving the last values and counting the failures", async () => {
    const status = z
      .object({ qemuPid: z.number().int().positive() })
      .loose()
      .parse(
        await (
          await fetch(`http://${podIp}:${config.http.port}/status`, { signal: AbortSignal.timeout(10_000) })
        ).json(),
      );
    const before = await scrape();
    process.kill(status.qemuPid, "SIGSTOP");
    let during: string;
    try {
      await scrape();
      during = await scrape();
    } finally {
      process.kill(status.qemuPid, "SIGCONT");
    }
    for (const source of ["status", "vcpus", "memory", "blockstats"]) {
      expect(errors(during, source), source).toBeGreaterThanOrEqual(errors(before, source) + 2);
    }
    expect(errors(during, "process")).toBe(errors(before, "process"));
    expect(errors(during, "network")).toBe(errors(before, "network"));
    expect(sample(during, `vireo_vm_state{${vm},state="running"}`)).toBe(1);
    expect(sample(during, `vireo_vm_storage_write_traffic_bytes_total{${vm},drive="data"}`)).toBe(
      sample(before, `vireo_vm_storage_write_traffic_bytes_total{${vm},drive="data"}`),
    );
    await eventually(
      async () => {
        const a = await scrape();
        const b = await scrape();
        expect(errors(b, "status")).toBe(errors(a, "status"));
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "QMP answering again" },
    );
  });
});
