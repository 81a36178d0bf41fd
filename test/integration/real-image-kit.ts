/**
 * A real user's VM for the real-image tests: the Debian cloud image (scripts/guest-image) on a
 * Filesystem claim as the importer leaves it (`disk.img`, raw), a cloudInitNoCloud volume with a hostname
 * and an SSH key, one bridge NIC on the pod network, booted by the launcher binary through SeaBIOS or OVMF
 * (no kernelBoot) inside a test network namespace playing the pod, as uid 107 like the pod's container.
 * The test reaches the guest's sshd at the pod IP from the "gw" namespace with Debian's ssh client.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chown, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { podPaths } from "../../crds/contract/index.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import {
  asUnprivileged,
  startProcess,
  type TestProcess,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { debianImage, type DebianImage } from "../guest/debian-image.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";

const run = promisify(execFile);
const LAUNCHER = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
/** The launcher's user in the pod (KubeVirt's qemu user). */
const LAUNCHER_UID = 107;
/** The claim's capacity: larger than the image's 2 GiB, so the guest has a disk to grow its root into. */
export const CLAIM_BYTES = 4 * 2 ** 30;

/** How the test VM boots. */
export type Firmware = { bios: Record<string, never> } | { uefi: { secureBoot: boolean } };

/** One VM's files: its "pod" root, the claim holding disk.img, the SSH key, the known_hosts file. */
export interface RealVm {
  name: string;
  config: LauncherConfig;
  configFile: string;
  root: string;
  claimDir: string;
  sshKey: string;
  knownHosts: string;
  image: DebianImage;
}

/** The image copied onto the claim as raw `disk.img`, as an import into a Filesystem claim leaves it. */
async function importToClaim(image: DebianImage, claimDir: string): Promise<void> {
  await mkdir(claimDir, { recursive: true });
  await run("qemu-img", [
    "convert",
    "-q",
    "-f",
    "qcow2",
    "-O",
    "raw",
    image.disk,
    join(claimDir, "disk.img"),
  ]);
}

/** The VirtualMachine a user would write, turned into the launcher config the operator would make. */
export async function prepareVm(topo: Topology, name: string, firmware: Firmware): Promise<RealVm> {
  const image = debianImage();
  const root = join(topo.dir, name);
  await mkdir(root, { recursive: true, mode: 0o755 });
  const sshKey = join(root, "id_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `vireo-test@${name}`, "-f", sshKey]);
  const pub = (await run("cat", [`${sshKey}.pub`])).stdout.trim();
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name, namespace: "test", uid: randomUUID() },
    spec: {
      cpu: { cores: 2 },
      memory: { guest: "1Gi" },
      firmware,
      disks: [{ name: "root", bootOrder: 1 }, { name: "cloudinit" }],
      volumes: [
        { name: "root", persistentVolumeClaim: { claimName: `${name}-root` } },
        {
          name: "cloudinit",
          cloudInitNoCloud: { userData: `#cloud-config\nssh_authorized_keys:\n  - ${pub}\n` },
        },
      ],
      terminationGracePeriodSeconds: 120,
    },
  });
  const config = launcherConfigFromVm(vm, {
    allowEmulation: true,
    defaultBinding: "bridge",
    paths: podPaths(root),
    claims: { [`${name}-root`]: { volumeMode: "Filesystem", capacityBytes: CLAIM_BYTES } },
  });
  const withPort: LauncherConfig = { ...config, http: { port: await freePort() } };
  const claim = withPort.disks.find((d) => d.name === "root")!.source;
  if (claim.kind !== "pvcFilesystem") throw new Error(`root disk is ${claim.kind}, not a Filesystem claim`);
  for (const dir of Object.values(withPort.paths)) await mkdir(dir, { recursive: true });
  await importToClaim(image, claim.mountPath);
  // The pod's fsGroup makes its volumes the launcher's; here the whole "pod" root is.
  await chownTree(root, LAUNCHER_UID);
  const configFile = join(root, "launcher-config.json");
  await writeFile(configFile, JSON.stringify(withPort), { mode: 0o644 });
  return {
    name,
    config: withPort,
    configFile,
    root,
    claimDir: claim.mountPath,
    sshKey,
    knownHosts: join(root, "known_hosts"),
    image,
  };
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid);
    else if (!e.name.startsWith("id_ed25519")) await chown(p, uid, uid);
  }
}

/** A running launcher with its console. */
export interface Boot {
  launcher: TestProcess;
  console: SerialConsole;
  startedAt: number;
  /** SIGTERMs nothing: waits for the launcher to end (after a guest power-off) and returns its exit code. */
  exited(timeoutMs: number): Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * One "pod start": netsetup as root in the pod namespace (idempotent on a second start), then the launcher
 * as uid 107 with no capabilities, emulating (TCG).
 */
export async function boot(topo: Topology, vm: RealVm, n: number): Promise<Boot> {
  await run(
    "ip",
    ["netns", "exec", topo.pod, process.execPath, LAUNCHER, "netsetup", "--config", vm.configFile],
    {
      timeout: 120_000,
    },
  );
  const startedAt = Date.now();
  const termLog = join(vm.root, `termination-${n}`);
  const launcher = topo.track(
    startProcess([
      ...asUnprivileged(topo.pod, topo.devices),
      "env",
      "VIREO_ACCEL=tcg",
      process.execPath,
      LAUNCHER,
      "--config",
      vm.configFile,
      "--termination-log",
      termLog,
    ]),
  );
  const files = runtimeFiles(vm.config.paths, vm.config.boot);
  let console: SerialConsole;
  try {
    console = await SerialConsole.connect(files.consoleSocket, {
      connectTimeoutMs: 120_000,
      logFile: join(vm.root, `console-${n}.log`),
    });
  } catch (cause) {
    await launcher.kill();
    throw new Error(`no console from the launcher:\n${launcher.output().slice(-3000)}`, { cause });
  }
  return {
    launcher,
    console,
    startedAt,
    async exited(timeoutMs) {
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
      const code = await Promise.race([launcher.exited, timer]);
      if (code === "timeout") throw new Error(`launcher still running after ${timeoutMs} ms`);
      return code;
    },
    async stop() {
      console.close();
      await launcher.kill();
    },
  };
}

/** Runs a command on the guest over SSH as the image's default user, from the "gw" namespace. */
export async function ssh(
  topo: Topology,
  vm: RealVm,
  command: string,
  options: { strictHostKey?: "accept-new" | "yes"; timeoutMs?: number } = {},
): Promise<string> {
  const { stdout } = await run(
    "ip",
    [
      "netns",
      "exec",
      topo.gw,
      "ssh",
      "-i",
      vm.sshKey,
      "-o",
      "BatchMode=yes",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      `StrictHostKeyChecking=${options.strictHostKey ?? "yes"}`,
      "-o",
      `UserKnownHostsFile=${vm.knownHosts}`,
      "-o",
      "ConnectTimeout=15",
      "-o",
      "LogLevel=ERROR",
      `${vm.image.manifest.defaultUser}@${topo.podIp}`,
      command,
    ],
    { timeout: options.timeoutMs ?? 120_000 },
  );
  return stdout;
}

/**
 * Waits until sshd answers with our key (cloud-init installs it before sshd starts) and returns how long
 * after the launcher's start that was. Fails early when the launcher ends or the guest panics.
 */
export async function waitForSsh(
  topo: Topology,
  vm: RealVm,
  b: Boot,
  timeoutMs: number,
  strictHostKey: "accept-new" | "yes",
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let ended = false;
  void b.launcher.exited.then(() => (ended = true));
  while (Date.now() < deadline) {
    if (ended)
      throw new Error(`the launcher ended before sshd answered:\n${b.launcher.output().slice(-3000)}`);
    if (/Kernel panic - not syncing/.test(b.console.transcript))
      throw new Error(`guest panicked:\n${b.console.transcript.slice(-3000)}`);
    try {
      await ssh(topo, vm, "true", { strictHostKey, timeoutMs: 60_000 });
      return Date.now() - b.startedAt;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 5_000));
    }
  }
  throw new Error(
    `sshd did not answer within ${timeoutMs} ms; console:\n${b.console.transcript.slice(-4000)}`,
    { cause: last },
  );
}

/** What the guest says about itself, one `key=value` line each (see {@link guestFacts}). */
const FACTS_SCRIPT = [
  'echo "hostname=$(hostname)"',
  // --wait: until cloud-init's last stage ran; "done" (not "error") means every module succeeded.
  'echo "cloudInit=$(sudo cloud-init status --wait | sed -n "s/^status: //p")"',
  // The image has python3 (cloud-init is written in it), not jq.
  `echo "datasource=$(sudo python3 -c 'import json; print(json.load(open("/run/cloud-init/result.json"))["v1"]["datasource"])')"`,
  // What failed when the status is "error" (empty when none did): the modules' own messages.
  `echo "cloudInitErrors=$(sudo python3 -c 'import json; print(" | ".join(json.load(open("/run/cloud-init/result.json"))["v1"]["errors"]))')"`,
  'echo "firmware=$([ -d /sys/firmware/efi ] && echo uefi || echo bios)"',
  // SMBIOS as the firmware filled it in: "SeaBIOS", or "EFI Development Kit II / OVMF".
  'echo "biosVendor=$(cat /sys/class/dmi/id/bios_vendor)"',
  'echo "root=$(findmnt -no SOURCE /)"',
  'echo "rootBytes=$(findmnt -bno SIZE /)"',
  'echo "diskBytes=$(lsblk -bdno SIZE /dev/vda)"',
  'echo "cmdline=$(cat /proc/cmdline)"',
].join("; ");

/** The guest's hostname, cloud-init's result and datasource, firmware and its vendor, root device and sizes, cmdline. */
export async function guestFacts(topo: Topology, vm: RealVm): Promise<Record<string, string>> {
  const out = await ssh(topo, vm, FACTS_SCRIPT, { timeoutMs: 300_000 });
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** Powers the guest off from inside (systemd's shutdown) and returns the launcher's exit code. */
export async function poweroff(topo: Topology, vm: RealVm, b: Boot): Promise<number | null> {
  // sshd goes away with the session open: ssh may report the lost connection, which is the point.
  await ssh(topo, vm, "sudo systemctl poweroff").catch(() => undefined);
  return b.exited(300_000);
}

/** Removes what {@link prepareVm} made (the topology's destroy removes the rest). */
export async function removeVm(vm: RealVm | undefined): Promise<void> {
  if (vm) await rm(vm.root, { recursive: true, force: true });
}

/** A stopwatch for the figures line: `phase(name)` marks the end of a phase; `summary()` lists them. */
export function phases(): ((name: string) => void) & { summary(): string } {
  const marks: [string, number][] = [];
  let last = Date.now();
  const mark = (name: string) => {
    const now = Date.now();
    marks.push([name, now - last]);
    last = now;
  };
  return Object.assign(mark, {
    summary: () => marks.map(([n, ms]) => `${n} +${(ms / 1000).toFixed(0)} s`).join(", "),
  });
}
