/**
 * The virtual TPM with the real swtpm and QEMU: the launcher binary boots the test guest under TCG with
 * `tpm` set; the guest's kernel (tpm_crb is built into Debian's cloud kernel) finds a TPM 2.0 at /dev/tpm0,
 * and QMP's query-tpm shows QEMU's emulator backend on swtpm's socket. Persistence is read from inside the
 * guest: TPM2_CreatePrimary in the endorsement hierarchy with a fixed ECC template derives the key from the
 * TPM's endorsement seed, so the same public key after a restart means the same TPM (what BitLocker and
 * Windows 11 rely on). With the state on the "claim" it is the same after a new pod; without, it is not.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths, tpmStateDir } from "../../crds/contract/index.ts";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { spawnQemu } from "../../launcher/qemu/process.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { startSwtpm } from "../../launcher/tpm/start.ts";
import { swtpmPlan } from "../../launcher/tpm/swtpm-args.ts";
import { shapes } from "../golden/qemu/shapes.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const BOOT_TIMEOUT_MS = 180_000;
const root = mkdtempSync(join(tmpdir(), "vireo-tpm-"));

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  console?: SerialConsole;
}
const runs: Run[] = [];

afterEach(async () => {
  for (const r of runs.splice(0)) {
    r.console?.close();
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill("SIGKILL"); // QEMU and swtpm follow through their parent-death signal
      await r.exited;
    }
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function configFor(dir: string, persistent: boolean): Promise<LauncherConfig> {
  const { kernel, initramfs } = guestArtifacts();
  const paths = podPaths(dir);
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "test", name: "tpm", uid: "6f1e2d3c-0000-4000-8000-000000000002" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
    memory: { guestBytes: 256 * 2 ** 20 },
    boot: { kind: "kernel", kernelPath: kernel, initrdPath: initramfs, cmdline: "console=ttyS0" },
    disks: [],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: false, statsPollSeconds: 0 } },
    tpm: { stateDir: tpmStateDir(paths, persistent), persistent },
    terminationGracePeriodSeconds: 60,
    paths,
    http: { port: await freePort() },
  });
}

async function start(config: LauncherConfig, n: number): Promise<Run> {
  const cfgFile = join(root, `config-${n}.json`);
  writeFileSync(cfgFile, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [BIN, "--config", cfgFile, "--termination-log", join(root, `termination-${n}`)],
    { env: { ...process.env, VIREO_ACCEL: "tcg" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run: Run = { child, exited, output: () => out };
  runs.push(run);
  run.console = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
    connectTimeoutMs: 60_000,
  });
  await run.console.waitForShell(BOOT_TIMEOUT_MS).catch((err: Error) => {
    throw new Error(`guest has no shell; launcher output:\n${out.slice(-3000)}`, { cause: err });
  });
  return run;
}

async function stop(run: Run): Promise<void> {
  run.console?.close();
  run.child.kill("SIGTERM"); // the test guest powers off on the ACPI button
  expect(await run.exited).toBe(0);
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/**
 * TPM2_CreatePrimary(TPM_RH_ENDORSEMENT) with an empty password session and an unrestricted ECC P-256
 * signing template (fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign), as raw bytes: the guest
 * has no tpm2-tools, and the command is short enough to write by hand from the TPM 2.0 spec, part 3 §24.1.
 */
function createPrimaryCommand(): number[] {
  const publicArea = [
    ...u16(0x0023), // TPM_ALG_ECC
    ...u16(0x000b), // nameAlg SHA256
    ...u32(0x00040072),
    ...u16(0), // authPolicy
    ...u16(0x0010), // symmetric: TPM_ALG_NULL
    ...u16(0x0010), // scheme: TPM_ALG_NULL
    ...u16(0x0003), // TPM_ECC_NIST_P256
    ...u16(0x0010), // kdf: TPM_ALG_NULL
    ...u16(0),
    ...u16(0), // unique x, y: empty
  ];
  const body = [
    ...u32(0x4000000b), // TPM_RH_ENDORSEMENT
    ...u32(9), // authorization area: TPM_RS_PW, no nonce, no attributes, empty password
    ...u32(0x40000009),
    ...u16(0),
    0,
    ...u16(0),
    ...u16(4), // inSensitive: empty userAuth and data
    ...u16(0),
    ...u16(0),
    ...u16(publicArea.length),
    ...publicArea,
    ...u16(0), // outsideInfo
    ...u32(0), // creationPCR: none
  ];
  return [...u16(0x8002), ...u32(10 + body.length), ...u32(0x00000131), ...body];
}

/** Sends CreatePrimary through the kernel's resource manager and returns outPublic as hex. */
async function endorsementKey(run: Run): Promise<string> {
  const printf = createPrimaryCommand()
    .map((b) => `\\${b.toString(8).padStart(3, "0")}`)
    .join("");
  const out = await run.console!.check(
    `exec 3<>/dev/tpmrm0; printf '${printf}' >&3; dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 -v; exec 3<&-`,
    120_000,
  );
  const bytes = out
    .trim()
    .split(/\s+/)
    .map((h) => parseInt(h, 16));
  const rc = bytes.slice(6, 10).reduce((a, b) => a * 256 + b, 0);
  expect(rc, `TPM response code (response ${out.trim()})`).toBe(0);
  // header (10), objectHandle (4), parameterSize (4), then outPublic as TPM2B_PUBLIC.
  const size = (bytes[18]! << 8) | bytes[19]!;
  const publicArea = bytes.slice(20, 20 + size);
  expect(publicArea.length).toBe(size);
  return Buffer.from(publicArea).toString("hex");
}

async function twoRuns(persistent: boolean, n: number): Promise<[string, string]> {
  const dir = join(root, persistent ? "persistent" : "ephemeral");
  const config = await configFor(dir, persistent);
  const first = await start(config, n);
  const before = await endorsementKey(first);
  await stop(first);
  // A new pod: a fresh emptyDir for the state directory; the state claim's directory stays.
  rmSync(config.paths.stateDir, { recursive: true, force: true });
  const second = await start(config, n + 1);
  const after = await endorsementKey(second);
  await stop(second);
  return [before, after];
}

describe("virtual TPM 2.0 (swtpm, TCG)", () => {
  it("QEMU started paused on the launcher's argv answers query-tpm: tpm-crb on the emulator backend", async () => {
    const shape = shapes({
      root: join(root, "qmp"),
      blockDevice: "/dev/null",
      kernel: "/none",
      initrd: "/none",
    }).find((s) => s.name === "bios-minimal")!;
    const config = {
      ...shape.config,
      tpm: { stateDir: tpmStateDir(shape.config.paths, false), persistent: false },
    };
    for (const p of Object.values(config.paths)) mkdirSync(p, { recursive: true });
    const swtpm = await startSwtpm(swtpmPlan(config, shape.inputs.files.tpmSocket)!, () => {});
    const argv = buildQemuArgs(config, shape.inputs);
    const qemu = await spawnQemu(argv);
    const failed = () =>
      `QEMU stderr:\n${qemu.stderrTail().join("\n")}\nswtpm: ${swtpm.stderrTail().join("\n")}`;
    try {
      const qmp = await QmpClient.connect(shape.inputs.files.qmpSocket, { connectTimeoutMs: 30_000 }).catch(
        (err: Error) => {
          throw new Error(failed(), { cause: err });
        },
      );
      try {
        expect(await qmp.execute("query-status")).toMatchObject({ status: "prelaunch" });
        expect(await qmp.execute("query-tpm")).toEqual([
          {
            id: "tpm0",
            model: "tpm-crb",
            options: { type: "emulator", data: { chardev: "chrtpm" } },
          },
        ]);
        await qmp.execute("quit");
      } finally {
        qmp.close();
      }
      expect(await qemu.exited, failed()).toEqual({ code: 0, signal: null });
      // --terminate: swtpm ends by itself once QEMU closed its socket.
      expect(await swtpm.exited).toEqual({ code: 0, signal: null });
    } finally {
      qemu.kill("SIGKILL");
      swtpm.kill("SIGKILL");
    }
  });

  it("the launcher starts swtpm; the guest finds a TPM 2.0 at /dev/tpm0 and the state lands in tpm2-00.permall (0600)", async () => {
    const config = await configFor(join(root, "probe"), false);
    const run = await start(config, 1);
    expect(await run.console!.check("cat /sys/class/tpm/tpm0/tpm_version_major", 30_000)).toMatch(/^2\s*$/);
    expect(await run.console!.check("ls /dev/tpm0 /dev/tpmrm0", 30_000)).toMatch(/\/dev\/tpm0/);
    expect(existsSync(runtimeFiles(config.paths).tpmSocket)).toBe(true);
    const state = config.tpm!.stateDir;
    expect(readdirSync(state)).toContain("tpm2-00.permall");
    expect(statSync(join(state, "tpm2-00.permall")).mode & 0o777).toBe(0o600);
    expect(run.output()).toMatch(/"msg":"swtpm started"/);
    await stop(run);
  });

  it("persistent: the endorsement key is the same after a new pod on the same state claim", async () => {
    const [before, after] = await twoRuns(true, 10);
    expect(before).toMatch(/^0023000b00040072/); // the template came back with its ECC point
    expect(after).toBe(before);
  });

  it("not persistent: a new pod has a new TPM (another endorsement seed)", async () => {
    const [before, after] = await twoRuns(false, 20);
    expect(after).not.toBe(before);
  });
});
