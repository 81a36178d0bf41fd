/**
 * Persistent UEFI variables with the real firmware: the launcher binary runs Debian's OVMF under TCG with no
 * bootable disk, so the firmware starts its built-in UEFI shell on the serial console. The test writes a
 * non-volatile variable through the firmware (`setvar … -nv`), stops the launcher, starts a new one as a new pod
 * would (its state directory — an emptyDir in a pod — emptied, the state claim's directory kept), and reads
 * the variable back with `dmpstore`; likewise a BootOrder change (`bcfg boot mv`, what `efibootmgr -o` does from a
 * guest). Without `firmware.uefi.persistent` the same steps lose both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths, stateClaimDir } from "../../crds/contract/index.ts";
import { firmwareFiles } from "../../launcher/qemu/firmware-files.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { OVMF_SHELL_BOOTS, OVMF_SHELL_DEVICE_ERROR } from "../guest/ovmf-flake.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const SHELL_TIMEOUT_MS = 180_000;
const root = mkdtempSync(join(tmpdir(), "vireo-uefi-vars-"));
/** A vendor GUID of our own for the test variable. */
const GUID = "5a3d8e52-1c4b-4f7e-9b1a-3e2f6d7c8b90";
/** Four bytes, "VIRE" in ASCII: easy to find in dmpstore's hex dump. */
const DATA = "56495245";

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
      r.child.kill("SIGKILL");
      await r.exited;
    }
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The launcher config the operator would write for this VM, re-rooted under `dir` (as `vireo run` does). */
async function configFor(dir: string, persistent: boolean): Promise<LauncherConfig> {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "nvram", namespace: "test", uid: "6f1e2d3c-0000-4000-8000-000000000001" },
    spec: {
      memory: { guest: "256Mi" },
      firmware: { uefi: { persistent } },
      interfaces: [],
      networks: [],
      terminationGracePeriodSeconds: 2,
    },
  });
  const config = launcherConfigFromVm(vm, {
    allowEmulation: true,
    defaultBinding: "bridge",
    paths: podPaths(dir),
  });
  return { ...config, cpu: { ...config.cpu, model: "host-passthrough" }, http: { port: await freePort() } };
}

/** Boots the firmware to its shell, once more if OVMF's shell hit the load-only Device Error (ovmf-flake.ts). */
async function start(config: LauncherConfig, n: number): Promise<Run> {
  for (let boot = 1; ; boot++) {
    const run = await startOnce(config, n, boot);
    const m = await run
      .console!.waitFor(new RegExp(`Shell> |${OVMF_SHELL_DEVICE_ERROR.source}`), SHELL_TIMEOUT_MS)
      .catch((err: Error) => {
        throw new Error(`no UEFI shell; launcher output:\n${run.output().slice(-3000)}`, { cause: err });
      });
    if (m[0] === "Shell> ") return run;
    if (boot >= OVMF_SHELL_BOOTS) throw new Error(`OVMF's shell failed to start ${boot} times: ${m[0]}`);
    console.log(`boot ${boot}: ${m[0]} — the firmware on a starved vCPU; booting once more`);
    await stop(run);
  }
}

async function startOnce(config: LauncherConfig, n: number, boot: number): Promise<Run> {
  const cfgFile = join(root, `config-${n}-${boot}.json`);
  writeFileSync(cfgFile, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [BIN, "--config", cfgFile, "--termination-log", join(root, `termination-${n}-${boot}`)],
    { env: { ...process.env, VIREO_ACCEL: "tcg" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run: Run = { child, exited, output: () => out };
  runs.push(run);
  run.console = await SerialConsole.connect(runtimeFiles(config.paths, config.boot).consoleSocket, {
    connectTimeoutMs: 60_000,
  });
  return run;
}

/** Types a shell command one character at a time (the firmware polls a 16-byte UART FIFO), then Enter. */
async function shell(run: Run, command: string, until: RegExp): Promise<string> {
  for (const ch of command) {
    run.console!.write(ch);
    await new Promise((r) => setTimeout(r, 15));
  }
  run.console!.write("\r");
  const m = await run.console!.waitFor(new RegExp(`${until.source}[\\s\\S]*?Shell> `), 60_000);
  return m[0];
}

async function stop(run: Run): Promise<void> {
  run.console?.close();
  run.child.kill("SIGTERM");
  // The firmware ignores the ACPI power button: the launcher quits QEMU at the 2 s deadline.
  expect(await run.exited).toBe(0);
}

const dump = (run: Run) => shell(run, `dmpstore VireoTest -guid ${GUID}`, /dmpstore VireoTest[^\n]*\n/);
/** The boot options in BootOrder order, as `bcfg boot dump` lists them: ["Boot0000", "Boot0001"]. */
async function bootOrder(run: Run): Promise<string[]> {
  const out = await shell(run, "bcfg boot dump", /bcfg boot dump[^\n]*\n/);
  return [...out.matchAll(/Variable: (Boot[0-9A-F]{4})/g)].map((m) => m[1] ?? "");
}

/** Two launcher runs on one directory; between them the pod's state directory is emptied as a new pod's is. */
async function writeThenRestart(
  persistent: boolean,
  n: number,
): Promise<{ before: string; after: string; orderBefore: string[]; orderAfter: string[] }> {
  const dir = join(root, persistent ? "persistent" : "ephemeral");
  const config = await configFor(dir, persistent);
  const first = await start(config, n);
  await shell(first, `setvar VireoTest -guid ${GUID} -nv -bs -rt =${DATA}`, /setvar VireoTest[^\n]*\n/);
  const before = await dump(first);
  // A BootOrder change, as `efibootmgr -o` makes one from a guest: the shell (Boot0001) first.
  await shell(first, "bcfg boot mv 1 0", /bcfg boot mv[^\n]*\n/);
  const orderBefore = await bootOrder(first);
  await stop(first);
  // A new pod: a fresh emptyDir for the state directory; the state claim (if any) is the same volume.
  rmSync(config.paths.stateDir, { recursive: true, force: true });
  const second = await start(config, n + 1);
  const after = await dump(second);
  const orderAfter = await bootOrder(second);
  await stop(second);
  return { before, after, orderBefore, orderAfter };
}

describe("UEFI variables under OVMF (TCG)", () => {
  it("persistent: a variable and a BootOrder change written through the firmware survive a restart on the same state claim", async () => {
    const { before, after, orderBefore, orderAfter } = await writeThenRestart(true, 1);
    expect(orderBefore).toEqual(["Boot0001", "Boot0000"]);
    expect(orderAfter).toEqual(["Boot0001", "Boot0000"]);
    const hex = /56 49 52 45/;
    expect(before).toMatch(/DataSize = 0x0*4/);
    expect(before).toMatch(hex);
    expect(after).toMatch(
      /Variable NV\+RT\+BS '5A3D8E52-1C4B-4F7E-9B1A-3E2F6D7C8B90:VireoTest' DataSize = 0x0*4/i,
    );
    expect(after).toMatch(hex);

    // The store lives on the claim's directory, not in the pod's state directory, and is not the template.
    const config = await configFor(join(root, "persistent"), true);
    const vars = runtimeFiles(config.paths, config.boot).uefiVars;
    expect(vars).toBe(join(stateClaimDir(config.paths), "uefi-vars.fd"));
    const template = firmwareFiles(false).ovmfVarsTemplate;
    expect(statSync(vars).size).toBe(statSync(template).size);
    expect(readFileSync(vars).equals(readFileSync(template))).toBe(false);
    console.log(`after restart:\n${after}`);
  });

  it("not persistent: the same variable and BootOrder change are gone after the restart", async () => {
    const { before, after, orderBefore, orderAfter } = await writeThenRestart(false, 3);
    expect(orderBefore).toEqual(["Boot0001", "Boot0000"]);
    expect(orderAfter).toEqual(["Boot0000", "Boot0001"]);
    expect(before).toMatch(/56 49 52 45/);
    expect(after).not.toMatch(/56 49 52 45/);
    expect(after).toMatch(/No matching variables found|not found/i);
    console.log(`after restart without persistent:\n${after}`);
  });
});
