/**
 * Per-VM metrics against a guest whose every byte the test controls: the test guest runs under TCG with the
 * launcher core's QEMU argv (a virtio disk, a plain tap in a network namespace of its own, the balloon), the
 * metrics collector reads it through the core's QMP client, and the registry is served over HTTP on
 * loopback. The guest moves known amounts over its disk and NIC and the counters must rise by at least
 * that much (and the tap's own counters must read the other way round); promtool lints a real scrape; a
 * stopped QEMU (SIGSTOP) must not stop /metrics from answering. The whole launcher (`vireo run`) with a
 * real Prometheus is metrics-launcher.test.ts.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";
import {
  launcherMetricsSource,
  registerVmMetrics,
  VmMetricsCollector,
} from "../../launcher/metrics/index.ts";
import type { PreparedDisk, PreparedNic } from "../../launcher/prepared.ts";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { firmwareFiles } from "../../launcher/qemu/firmware-files.ts";
import type { QemuInputs } from "../../launcher/qemu/inputs.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { spawnQemu, type QemuProcess } from "../../launcher/qemu/process.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { eventually } from "../harness/eventually.ts";

const MiB = 2 ** 20;
const BOOT_MS = 240_000;
const COMMAND_MS = 120_000;
/** The collector's deadline; /metrics must answer within it even when QMP does not. */
const DEADLINE_MS = 2000;
const HOST_IP = "10.77.0.1";
const GUEST_IP = "10.77.0.2";

const root = mkdtempSync(join(tmpdir(), "vireo-metrics-"));
const netns = `vireo-metrics-${process.pid}`;
let netnsCreated = false;
let qemu: QemuProcess | undefined;
let qmp: QmpClient | undefined;
let serial: SerialConsole | undefined;
let server: Server | undefined;
let metricsUrl = "";

function config(): LauncherConfig {
  const { kernel, initramfs } = guestArtifacts();
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "prod", name: "web", uid: "6f1c1a8e-3b52-4f0e-9d57-2a8f0c4d9e11" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 2, threads: 1, model: "host-model" },
    memory: { guestBytes: 256 * MiB },
    boot: {
      kind: "kernel",
      kernelPath: kernel,
      initrdPath: initramfs,
      cmdline: "console=ttyS0 panic=-1 vireo.http=80",
    },
    disks: [],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: true, statsPollSeconds: 2 } },
    terminationGracePeriodSeconds: 30,
    paths: podPaths(root),
    http: { port: 9100 },
  });
}

const disks: PreparedDisk[] = [
  {
    name: "data",
    path: join(root, "data.img"),
    format: "raw",
    driver: "file",
    bus: "virtio",
    readOnly: false,
    serial: "data",
    cache: "none",
    aio: "native",
    discard: true,
  },
];
const nics: PreparedNic[] = [
  {
    name: "default",
    mac: "02:a1:b2:c3:d4:e5",
    model: "virtio",
    backend: { kind: "tap", ifname: "tap0", vhost: false },
  },
];

/** One scrape as `name{labels}` → value, labels in exposition order. */
type Scrape = Map<string, number>;

async function scrape(): Promise<{ text: string; values: Scrape }> {
  // The bound is generous on purpose: it only has to tell "answers" from "hangs".
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(DEADLINE_MS + 20_000) });
  expect(response.status).toBe(200);
  const text = await response.text();
  const values: Scrape = new Map();
  for (const line of text.split("\n")) {
    const match = /^([a-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return { text, values };
}

const vm = 'namespace="prod",name="web"';
function value(s: Scrape, series: string): number {
  const v = s.get(series);
  if (v === undefined) throw new Error(`no series ${series} in the scrape`);
  return v;
}

async function sh(command: string): Promise<string> {
  if (!serial) throw new Error("no guest");
  return serial.check(command, COMMAND_MS);
}

function ns(...argv: string[]): string {
  return execFileSync("ip", ["netns", "exec", netns, ...argv], { encoding: "utf8", timeout: COMMAND_MS });
}

beforeAll(async () => {
  const cfg = config();
  for (const dir of Object.values(cfg.paths)) mkdirSync(dir, { recursive: true });
  execFileSync("truncate", ["-s", String(64 * MiB), disks[0]!.path]);
  execFileSync("ip", ["netns", "add", netns]);
  netnsCreated = true;
  execFileSync("ip", ["-n", netns, "link", "set", "lo", "up"]);
  execFileSync("ip", ["-n", netns, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
  execFileSync("ip", ["-n", netns, "addr", "add", `${HOST_IP}/24`, "dev", "tap0"]);
  execFileSync("ip", ["-n", netns, "link", "set", "tap0", "up"]);

  const inputs: QemuInputs = {
    accel: "tcg",
    hostCpuQuirks: [],
    disks,
    nics,
    files: runtimeFiles(cfg.paths),
    firmware: firmwareFiles(false),
  };
  const argv = buildQemuArgs(cfg, inputs);
  qemu = await spawnQemu(argv, { wrapper: ["ip", "netns", "exec", netns] });
  const started = qemu;
  try {
    serial = await SerialConsole.connect(inputs.files.serialSocket, { logFile: join(root, "console.log") });
    qmp = await QmpClient.connect(inputs.files.qmpSocket, { connectTimeoutMs: 30_000 });
    await qmp.execute("cont");
    await serial.waitForReady(BOOT_MS);
    await serial.waitForShell(BOOT_MS);
  } catch (cause) {
    throw new Error(`guest did not come up; QEMU stderr:\n${started.stderrTail().join("\n")}`, { cause });
  }

  const source = launcherMetricsSource({
    config: cfg,
    accelerator: () => "tcg",
    disks: () => disks,
    nics: () => nics,
    qemuPid: () => (started.exit ? undefined : started.pid),
    qmp: () => qmp,
  });
  const collector = new VmMetricsCollector(source, {
    deadlineMs: DEADLINE_MS,
    balloonStatsPollSeconds: cfg.devices.balloon.statsPollSeconds,
    // QEMU runs in the test's network namespace; its mount namespace shows that namespace's sysfs. In a
    // pod the launcher shares the pod's namespaces and reads its own /sys/class/net.
    sysClassNet: `/proc/${started.pid}/root/sys/class/net`,
  });
  const registry = new Registry();
  registerVmMetrics(registry, collector);
  server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "Content-Type": registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no metrics port");
  metricsUrl = `http://127.0.0.1:${address.port}/metrics`;
}, BOOT_MS + 60_000);

afterAll(async () => {
  server?.close();
  serial?.close();
  qmp?.close();
  if (qemu) {
    qemu.kill("SIGCONT");
    qemu.kill("SIGKILL");
    await qemu.exited;
  }
  if (netnsCreated) execFileSync("ip", ["netns", "del", netns]);
  rmSync(root, { recursive: true, force: true });
});

describe("metrics of a real guest", () => {
  it("count at least the bytes and requests the guest moved over its virtio disk", async () => {
    const before = (await scrape()).values;
    const drive = `${vm},drive="data"`;
    // 4 MiB written in 64 O_DIRECT requests plus a flush (fsync), then 2 MiB read in 32 requests.
    await sh("dd if=/dev/urandom of=/dev/vda bs=64k count=64 oflag=direct conv=fsync");
    await sh("dd if=/dev/vda of=/dev/null bs=64k count=32 iflag=direct");
    const after = (await scrape()).values;
    const delta = (name: string) => value(after, `${name}{${drive}}`) - value(before, `${name}{${drive}}`);
    expect(delta("vireo_vm_storage_write_traffic_bytes_total")).toBeGreaterThanOrEqual(4 * MiB);
    expect(delta("vireo_vm_storage_iops_write_total")).toBeGreaterThanOrEqual(64);
    expect(delta("vireo_vm_storage_read_traffic_bytes_total")).toBeGreaterThanOrEqual(2 * MiB);
    expect(delta("vireo_vm_storage_iops_read_total")).toBeGreaterThanOrEqual(32);
    expect(delta("vireo_vm_storage_flush_requests_total")).toBeGreaterThanOrEqual(1);
    expect(delta("vireo_vm_storage_write_times_seconds_total")).toBeGreaterThan(0);
    expect(delta("vireo_vm_storage_read_times_seconds_total")).toBeGreaterThan(0);
    expect(value(after, `vireo_vm_storage_failed_operations_total{${drive},operation="write"}`)).toBe(0);
  });

  it("count at least the bytes and packets the guest moved over its tap NIC, in the guest's direction", async () => {
    const before = (await scrape()).values;
    await sh(`ip addr add ${GUEST_IP}/24 dev eth0`);
    // 30 echo requests out and 30 replies in, 1400 bytes of payload each (1442 bytes on the wire).
    await sh(`ping -c 30 -i 0.2 -s 1400 ${HOST_IP}`);
    // 1 MiB the guest sends: the host downloads a file from the guest's web server.
    await sh("dd if=/dev/urandom of=/www/blob bs=1024 count=1024");
    const download = join(root, "blob");
    ns("busybox", "wget", "-q", "-O", download, `http://${GUEST_IP}/blob`);
    expect(statSync(download).size).toBe(MiB);
    const after = (await scrape()).values;
    const nic = `${vm},interface="default"`;
    const delta = (name: string) => value(after, `${name}{${nic}}`) - value(before, `${name}{${nic}}`);
    const ping = 30 * 1442;
    expect(delta("vireo_vm_network_transmit_bytes_total")).toBeGreaterThanOrEqual(MiB + ping);
    expect(delta("vireo_vm_network_receive_bytes_total")).toBeGreaterThanOrEqual(ping);
    // Packets are frames as they cross the tap: with virtio-net's segmentation offload one frame may carry
    // up to 64 KiB of the download, so only the pings count one for one.
    expect(delta("vireo_vm_network_transmit_packets_total")).toBeGreaterThan(30);
    expect(delta("vireo_vm_network_receive_packets_total")).toBeGreaterThanOrEqual(30);
    // The tap itself counts the other way round: what the guest sent, the tap received.
    const tapRx = Number(ns("cat", "/sys/class/net/tap0/statistics/rx_bytes"));
    expect(tapRx).toBeGreaterThanOrEqual(value(after, `vireo_vm_network_transmit_bytes_total{${nic}}`));
  });

  it("report vCPU and process CPU time, memory, balloon statistics, state and identity", async () => {
    // The balloon driver reports every 2 s once polling is on.
    const { values } = await eventually(
      async () => {
        const s = await scrape();
        value(s.values, `vireo_vm_memory_usable_bytes{${vm}}`);
        return s;
      },
      { timeoutMs: 60_000, intervalMs: 1000, description: "balloon statistics" },
    );
    expect(value(values, `vireo_vm_vcpu_seconds_total{${vm},vcpu="0"}`)).toBeGreaterThan(0);
    expect(values.has(`vireo_vm_vcpu_seconds_total{${vm},vcpu="1"}`)).toBe(true);
    expect(value(values, `vireo_vm_cpu_usage_seconds_total{${vm}}`)).toBeGreaterThan(0);
    expect(value(values, `vireo_vm_memory_resident_bytes{${vm}}`)).toBeGreaterThan(10 * MiB);
    expect(value(values, `vireo_vm_memory_domain_bytes{${vm}}`)).toBe(256 * MiB);
    expect(value(values, `vireo_vm_memory_actual_balloon_bytes{${vm}}`)).toBe(256 * MiB);
    const available = value(values, `vireo_vm_memory_available_bytes{${vm}}`);
    expect(available).toBeGreaterThan(100 * MiB);
    expect(available).toBeLessThanOrEqual(256 * MiB);
    expect(value(values, `vireo_vm_memory_usable_bytes{${vm}}`)).toBeLessThanOrEqual(available);
    expect(value(values, `vireo_vm_memory_unused_bytes{${vm}}`)).toBeLessThanOrEqual(available);
    expect(value(values, `vireo_vm_memory_pgminfault_total{${vm}}`)).toBeGreaterThan(0);
    expect(value(values, `vireo_vm_state{${vm},state="running"}`)).toBe(1);
    expect(value(values, `vireo_vm_state{${vm},state="paused"}`)).toBe(0);
    expect(value(values, `vireo_vm_info{${vm},machine="q35",firmware="kernel",accelerator="tcg"}`)).toBe(1);
    for (const source of ["status", "vcpus", "process", "memory", "blockstats", "network"]) {
      expect(value(values, `vireo_vm_scrape_errors_total{${vm},source="${source}"}`), source).toBe(0);
    }
  });

  it("pass promtool check metrics on a real scrape", async () => {
    const { text } = await scrape();
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr.on("data", (c: Buffer) => (output += c.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, output }));
      child.stdin.end(text);
    });
    expect(text).toContain("vireo_vm_vcpu_seconds_total");
    expect(result, result.output).toEqual({ code: 0, output: "" });
  });

  it("answer within the deadline while QEMU is stopped and QMP cannot answer, and count the failures", async () => {
    const before = (await scrape()).values;
    const errors = (s: Scrape, source: string) =>
      value(s, `vireo_vm_scrape_errors_total{${vm},source="${source}"}`);
    qemu!.kill("SIGSTOP");
    try {
      const first = (await scrape()).values;
      const second = await scrape();
      for (const source of ["status", "vcpus", "memory", "blockstats"]) {
        expect(errors(second.values, source), source).toBeGreaterThanOrEqual(errors(before, source) + 2);
      }
      // procfs and sysfs do not need QEMU's cooperation: those sources keep working.
      expect(errors(second.values, "process")).toBe(errors(before, "process"));
      expect(errors(second.values, "network")).toBe(errors(before, "network"));
      // The last known values are served.
      expect(value(first, `vireo_vm_state{${vm},state="running"}`)).toBe(1);
      expect(value(second.values, `vireo_vm_storage_write_traffic_bytes_total{${vm},drive="data"}`)).toBe(
        value(before, `vireo_vm_storage_write_traffic_bytes_total{${vm},drive="data"}`),
      );
      expect(second.values.has(`vireo_vm_vcpu_seconds_total{${vm},vcpu="0"}`)).toBe(true);
    } finally {
      qemu!.kill("SIGCONT");
    }
    // Once QEMU runs again, collections succeed again.
    await eventually(
      async () => {
        const a = (await scrape()).values;
        const b = (await scrape()).values;
        if (errors(b, "status") !== errors(a, "status")) throw new Error("QMP still failing");
        expect(value(b, `vireo_vm_state{${vm},state="running"}`)).toBe(1);
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "QMP answering again" },
    );
  });
});
