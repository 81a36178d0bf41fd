/**
 * Dedicated resources with the real launcher, QEMU (TCG) and the busybox test guest:
 * - dedicated CPUs: each vCPU thread (named `CPU n/TCG` by debug-threads) may run on exactly its pinned CPU
 *   of the launcher's cpuset (/proc/<qemu>/task/<tid>/status Cpus_allowed_list); with isolateEmulatorThread
 *   every other QEMU thread runs on the extra CPU; with NUMA passthrough the guest gets an ACPI SRAT and the
 *   node's memory is mapped bound to host node 0 (this machine has one node).
 * - hugepages: 2 MiB pages reserved on this machine for the test and a hugetlbfs mounted by it; the host's
 *   HugePages_Free drops by the guest's size while it runs and comes back after. Both restored in teardown.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { podPaths } from "../../crds/contract/index.ts";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";
import { formatCpuList, parseCpuList } from "../../launcher/qemu/pinning.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const BOOT_TIMEOUT_MS = 180_000;
const MiB = 2 ** 20;
const root = mkdtempSync(join(tmpdir(), "vireo-dedicated-"));
const allowed = parseCpuList(
  /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!,
);
// The launcher runs on two CPUs of this machine (taskset, as the CPU manager would give its container two).
const [A, B] = allowed;
const pair = A !== undefined && B !== undefined ? formatCpuList([A, B]) : "";

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  console: SerialConsole;
  config: LauncherConfig;
  qemuPid: number;
}
const runs: Run[] = [];

afterEach(async () => {
  for (const r of runs.splice(0)) {
    r.console.close();
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill("SIGKILL"); // QEMU follows through its parent-death signal
      await r.exited;
    }
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function configFor(
  name: string,
  cpu: Partial<LauncherConfig["cpu"]>,
  memory: LauncherConfig["memory"] = { guestBytes: 256 * MiB },
): Promise<LauncherConfig> {
  const { kernel, initramfs } = guestArtifacts();
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "test", name, uid: "6f1e2d3c-0000-4000-8000-000000000019" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "max", ...cpu },
    memory,
    boot: { kind: "kernel", kernelPath: kernel, initrdPath: initramfs, cmdline: "console=ttyS0" },
    disks: [],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: false, statsPollSeconds: 0 } },
    terminationGracePeriodSeconds: 60,
    paths: podPaths(join(root, name)),
    http: { port: await freePort() },
  });
}

async function start(config: LauncherConfig): Promise<Run> {
  const cfgFile = join(root, `${config.vm.name}.json`);
  writeFileSync(cfgFile, JSON.stringify(config));
  const child = spawn(
    "taskset",
    [
      "--cpu-list",
      pair || formatCpuList(allowed),
      process.execPath,
      BIN,
      "--config",
      cfgFile,
      "--termination-log",
      join(root, `${config.vm.name}.termination`),
    ],
    { env: { ...process.env, VIREO_ACCEL: "tcg" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const partial = { child, exited, output: () => out, config };
  const console = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
    connectTimeoutMs: 60_000,
  }).catch((err: Error) => {
    child.kill("SIGKILL");
    throw new Error(`no console; launcher output:\n${out.slice(-3000)}`, { cause: err });
  });
  const pid = /"phase":"qemu-spawned"[^\n]*?"pid":(\d+)/.exec(out);
  const run: Run = { ...partial, console, qemuPid: Number(pid?.[1]) };
  runs.push(run);
  await console.waitForShell(BOOT_TIMEOUT_MS).catch((err: Error) => {
    throw new Error(`guest has no shell; launcher output:\n${out.slice(-3000)}`, { cause: err });
  });
  expect(run.qemuPid, out.slice(-2000)).toBeGreaterThan(0);
  return run;
}

async function stop(run: Run): Promise<void> {
  run.console.close();
  run.child.kill("SIGTERM"); // the test guest powers off on the ACPI button
  expect(await run.exited).toBe(0);
}

/** Every QEMU thread: its name (comm) and the CPUs it may run on. */
function threads(pid: number): { tid: number; comm: string; allowed: string }[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => {
    const dir = `/proc/${pid}/task/${t}`;
    const status = readFileSync(`${dir}/status`, "utf8");
    return {
      tid: Number(t),
      comm: readFileSync(`${dir}/comm`, "utf8").trim(),
      allowed: /^Cpus_allowed_list:\s*(.+)$/m.exec(status)![1]!.trim(),
    };
  });
}

const meminfo = (key: string) =>
  Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(readFileSync("/proc/meminfo", "utf8"))![1]);

describe.skipIf(!pair)("dedicated CPUs (real QEMU, TCG)", () => {
  it("pins vCPU n's thread to CPU n of the cpuset; the guest sees its NUMA node (SRAT)", async () => {
    const run = await start(
      await configFor("pinned", {
        cores: 2,
        dedicated: { isolateEmulatorThread: false, numaPassthrough: true },
      }),
    );
    const all = threads(run.qemuPid);
    const vcpus = all.filter((t) => /^CPU \d+\/TCG$/.test(t.comm));
    expect(vcpus.map((t) => [t.comm, t.allowed]).sort()).toEqual([
      ["CPU 0/TCG", `${A}`],
      ["CPU 1/TCG", `${B}`],
    ]);
    for (const t of all.filter((x) => !vcpus.includes(x))) expect(t.allowed, t.comm).toBe(pair);
    expect(run.output()).toMatch(/"msg":"vCPU threads pinned"/);
    // The guest: an ACPI SRAT (QEMU writes one only with -numa) placing both CPUs on node 0.
    expect(await run.console.check("ls /sys/firmware/acpi/tables/SRAT", 30_000)).toMatch(/SRAT/);
    expect(await run.console.check("cat /sys/devices/system/node/node0/cpulist", 30_000)).toMatch(/^0-1\s*$/);
    // The host: the node's RAM is mapped with QEMU's bind policy to host node 0 (host-nodes=0,policy=bind).
    expect(readFileSync(`/proc/${run.qemuPid}/numa_maps`, "utf8")).toMatch(/ bind:0 /);
    await stop(run);
  });

  it("isolateEmulatorThread: the vCPU thread on the first CPU, every other QEMU thread on the second", async () => {
    const run = await start(
      await configFor("isolated", { dedicated: { isolateEmulatorThread: true, numaPassthrough: false } }),
    );
    const all = threads(run.qemuPid);
    const vcpu = all.filter((t) => t.comm === "CPU 0/TCG");
    expect(vcpu.map((t) => t.allowed)).toEqual([`${A}`]);
    const others = all.filter((t) => t.comm !== "CPU 0/TCG");
    expect(others.length).toBeGreaterThan(1);
    for (const t of others) expect(t.allowed, `${t.comm} (${t.tid})`).toBe(`${B}`);
    await stop(run);
  });

  it("a cpuset too small for vCPUs + emulator ends the launcher with the reason, no guest", async () => {
    const config = await configFor("too-small", {
      cores: 2,
      dedicated: { isolateEmulatorThread: true, numaPassthrough: false },
    });
    const cfgFile = join(root, "too-small.json");
    writeFileSync(cfgFile, JSON.stringify(config));
    const term = join(root, "too-small.termination");
    const r = spawn(
      "taskset",
      ["--cpu-list", pair, process.execPath, BIN, "--config", cfgFile, "--termination-log", term],
      {
        env: { ...process.env, VIREO_ACCEL: "tcg" },
        stdio: "ignore",
      },
    );
    const code = await new Promise<number | null>((res) => r.once("exit", (c) => res(c)));
    expect(code).not.toBe(0);
    expect(readFileSync(term, "utf8")).toMatch(/need 3 CPUs/);
  });
});

describe("hugepages back the guest's memory (real hugetlbfs)", () => {
  const GUEST = 128 * MiB;
  const PAGES = GUEST / (2 * MiB);
  const mnt = join(root, "hugepages-2Mi");
  let saved: string | undefined;

  afterAll(() => {
    try {
      execFileSync("umount", [mnt]);
    } catch {
      // not mounted
    }
    if (saved !== undefined) writeFileSync("/proc/sys/vm/nr_hugepages", saved);
  });

  it("HugePages_Free drops by the guest's size while it runs and comes back after", async () => {
    saved = readFileSync("/proc/sys/vm/nr_hugepages", "utf8").trim();
    writeFileSync("/proc/sys/vm/nr_hugepages", String(Number(saved) + PAGES + 8));
    mkdirSync(mnt, { recursive: true });
    execFileSync("mount", ["-t", "hugetlbfs", "-o", "pagesize=2M", "none", mnt]);
    const before = meminfo("HugePages_Free");
    expect(before, "the kernel did not give the pages").toBeGreaterThanOrEqual(PAGES);
    const run = await start(
      await configFor("hugepages", {}, { guestBytes: GUEST, hugepages: { pageSize: "2Mi", mountPath: mnt } }),
    );
    expect(meminfo("HugePages_Free")).toBe(before - PAGES);
    expect(await run.console.check("grep MemTotal /proc/meminfo", 30_000)).toMatch(/MemTotal:\s+\d+ kB/);
    await stop(run);
    // QEMU unlinks its backing file at once; the pages return when it exits.
    expect(meminfo("HugePages_Free")).toBe(before);
  });
});
