/**
 * Live migration between two real launchers (`bin/vireo-launcher.js` as the pods run it), each in its own
 * network namespace standing in for a pod, on one shared Filesystem-claim disk (the "RWX" case). The test
 * plays the operator: it runs `vireo-launcher migrate listen|start|status` as `pods/exec` would. The guest's
 * counter goes on in the target (same boot), the source launcher ends with "migrated", refused commands say
 * why.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import type { MigrationSessionStatus } from "../../launcher/migration/session.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";
import { COUNTER_SCRIPT, createPodPair, lastTick, type PodPair } from "./migration-kit.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const MiB = 2 ** 20;
const root = mkdtempSync(join(tmpdir(), "vireo-launcher-migration-"));
const run = promisify(execFile);
const children: ChildProcess[] = [];
const consoles: SerialConsole[] = [];
let pair: PodPair | undefined;

afterAll(async () => {
  for (const c of consoles) c.close();
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL"); // QEMU follows through its parent-death signal
      await new Promise((r) => c.once("exit", r));
    }
  pair?.remove();
  rmSync(root, { recursive: true, force: true });
});

async function configFor(name: string, claimDir: string, incoming: boolean): Promise<LauncherConfig> {
  const { kernel, initramfs } = guestArtifacts();
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "test", name: "mig", uid: "6f1c7a3e-1d2b-4c5a-9e8f-7a6b5c4d3e2f" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
    memory: { guestBytes: 128 * MiB },
    boot: { kind: "kernel", kernelPath: kernel, initrdPath: initramfs, cmdline: "console=ttyS0" },
    disks: [
      {
        name: "data",
        bus: "virtio",
        readOnly: false,
        serial: "data1",
        source: { kind: "pvcFilesystem", mountPath: claimDir, capacityBytes: 16 * MiB, claimName: "shared" },
      },
    ],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: false, statsPollSeconds: 0 } },
    terminationGracePeriodSeconds: 30,
    ...(incoming ? { migration: { incoming: true } } : {}),
    paths: podPaths(join(root, name)),
    http: { port: await freePort() },
  });
}

/** Starts the launcher binary inside `netns`, TCG forced. */
function launchIn(netns: string, config: LauncherConfig, name: string) {
  const cfg = join(root, `${name}.json`);
  writeFileSync(cfg, JSON.stringify(config));
  const termLog = join(root, `${name}.termination`);
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, BIN, "--config", cfg, "--termination-log", termLog],
    { env: { ...process.env, VIREO_ACCEL: "tcg" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, config, termLog, exited, output: () => out };
}

/** `vireo-launcher migrate VERB [JSON]`, as the operator runs it through pods/exec. */
async function migrate(config: LauncherConfig, verb: string, json?: object): Promise<MigrationSessionStatus> {
  const args = [
    BIN,
    "migrate",
    verb,
    ...(json ? [JSON.stringify(json)] : []),
    "--run-dir",
    config.paths.runDir,
  ];
  const { stdout } = await run(process.execPath, args);
  return JSON.parse(stdout) as MigrationSessionStatus;
}

async function migrateFails(config: LauncherConfig, verb: string, json?: object): Promise<string> {
  return migrate(config, verb, json).then(
    () => "succeeded",
    (err: { stderr?: string }) => err.stderr ?? "",
  );
}

async function consoleOf(config: LauncherConfig): Promise<SerialConsole> {
  const c = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
    connectTimeoutMs: 120_000,
  });
  consoles.push(c);
  return c;
}

describe("live migration between two launchers in two network namespaces (TCG)", () => {
  it("moves the running guest to the target launcher; the source launcher ends with 'migrated'", async () => {
    pair = createPodPair(`L${process.pid % 10000}`, 60);
    const claimDir = join(root, "claim");
    mkdirSync(claimDir);
    const source = launchIn(pair.source.netns, await configFor("source", claimDir, false), "source");
    const sc = await consoleOf(source.config);
    try {
      await sc.waitForReady(180_000);
    } catch (err) {
      throw new Error(`source not ready:\n${source.output().slice(-3000)}`, { cause: err });
    }
    await sc.waitForShell(60_000);
    const bootId = (await sc.check("cat /proc/sys/kernel/random/boot_id", 60_000)).trim();
    await sc.check(COUNTER_SCRIPT, 60_000);
    await sc.waitFor(/^TICK 3 /m, 60_000);

    const target = launchIn(pair.target.netns, await configFor("target", claimDir, true), "target");
    const idle = await eventually(() => migrate(target.config, "status"), { timeoutMs: 120_000 }).catch(
      (err: unknown) => {
        throw new Error(`target launcher did not serve:\n${target.output().slice(-3000)}`, { cause: err });
      },
    );
    expect(idle).toEqual({ role: "target", state: "idle" });
    // Each side refuses the other's command, with a code.
    expect(await migrateFails(source.config, "listen", { address: pair.source.ip })).toContain(
      "NOT_A_TARGET",
    );
    expect(await migrateFails(target.config, "start", { address: pair.source.ip })).toContain("NOT_A_SOURCE");
    expect(await migrateFails(source.config, "cancel")).toContain("NOT_MIGRATING");

    expect(await migrate(target.config, "listen", { address: pair.target.ip })).toMatchObject({
      state: "listening",
      uri: `tcp:${pair.target.ip}:49152`,
    });
    const t0 = Date.now();
    expect((await migrate(source.config, "start", { address: pair.target.ip })).state).toBe("running");
    // The operator polls status while it runs; on success the source launcher quits QEMU and ends at once,
    // its termination message carrying QEMU's figures.
    const exit = await Promise.race([
      source.exited,
      new Promise((r) => setTimeout(() => r("timeout"), 300_000)),
    ]);
    expect(exit, source.output().slice(-3000)).toBe(0);
    const message = readFileSync(source.termLog, "utf8");
    expect(message).toMatch(/^migrated: .*downtime_ms=\d+ transferred_bytes=\d+ total_ms=\d+/);
    const before = lastTick(sc.transcript)!;

    const tc = await consoleOf(target.config);
    await tc.waitFor(/^TICK (\d+) /m, 60_000);
    const after = await eventually(
      async () => {
        const t = lastTick(tc.transcript);
        if (!t || t.n <= before.n) throw new Error(`no tick above ${before.n} yet`);
        return t;
      },
      { timeoutMs: 60_000 },
    );
    expect(after.n).toBeLessThan(before.n + 100); // continued, not restarted
    expect((await tc.check("cat /proc/sys/kernel/random/boot_id", 60_000)).trim()).toBe(bootId);
    expect((await migrate(target.config, "status")).state).toBe("succeeded");
    console.log(
      `launcher migration: ${Date.now() - t0} ms from start to the target ticking; source: ${message}`,
    );
    // The guest now belongs to the target launcher: a stop powers it off there.
    target.child.kill("SIGTERM");
    expect(await target.exited).toBe(0);
    expect(readFileSync(target.termLog, "utf8")).toMatch(/^powerdown/);
  }, 600_000);
});
