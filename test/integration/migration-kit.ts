/**
 * Two "pods" for migration tests: two network namespaces joined by a veth pair (each end an address, as two
 * pod IPs), and the test guest's QEMU started inside either one — the source running, the target with
 * `-incoming defer`, both with the same devices and the same (shared, "RWX") disk file.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { INCOMING_DEFER_ARGS } from "../../launcher/migration/plan.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { testQemuArgv } from "../guest/test-qemu.ts";

/** Two namespaces and their addresses. */
export interface PodPair {
  source: { netns: string; ip: string };
  target: { netns: string; ip: string };
  remove(): void;
}

/** Creates two namespaces joined by a veth pair (10.251.<n>.1 and .2/30); loopback up in both. */
export function createPodPair(tag: string, subnet: number): PodPair {
  const source = { netns: `vmig-${tag}-s`, ip: `10.251.${subnet}.1` };
  const target = { netns: `vmig-${tag}-t`, ip: `10.251.${subnet}.2` };
  const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "pipe" });
  const remove = () => {
    for (const ns of [source.netns, target.netns])
      try {
        ip("netns", "del", ns);
      } catch {
        // not created
      }
  };
  try {
    ip("netns", "add", source.netns);
    ip("netns", "add", target.netns);
    // Created inside the source namespace with its peer in the target's: the host's own is never touched.
    ip(
      "-n",
      source.netns,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      target.netns,
    );
    for (const side of [source, target]) {
      ip("-n", side.netns, "addr", "add", `${side.ip}/30`, "dev", "eth0");
      ip("-n", side.netns, "link", "set", "eth0", "up");
      ip("-n", side.netns, "link", "set", "lo", "up");
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { source, target, remove };
}

/** One QEMU in a namespace with its console and QMP. */
export interface NetnsQemu {
  pid: number;
  serial: SerialConsole;
  qmp: QmpClient;
  exited: Promise<number | null>;
  stderr(): string;
  kill(): Promise<void>;
}

/** The test guest's argv for both sides: one disk (virtio, serial data1), one virtio NIC with a fixed MAC. */
export function guestArgs(disk: string): string[] {
  // prettier-ignore
  return [
    "-drive", `file=${disk},format=raw,if=none,id=data1`,
    "-device", "virtio-blk-pci,drive=data1,serial=data1",
    "-netdev", "user,id=n0,restrict=on",
    "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:01",
  ];
}

/**
 * Starts the test guest's QEMU in `netns`. A source is resumed (`cont`) once console and QMP are connected;
 * a target stays in `-incoming defer` (and `-S`) for the migration code to drive.
 */
export async function startInNetns(o: {
  netns: string;
  dir: string;
  disk: string;
  memoryMiB: number;
  incoming: boolean;
}): Promise<NetnsQemu> {
  mkdirSync(o.dir, { recursive: true });
  const { kernel, initramfs } = guestArtifacts();
  const argv = testQemuArgv(
    {
      dir: o.dir,
      memoryMiB: o.memoryMiB,
      args: [...guestArgs(o.disk), ...(o.incoming ? INCOMING_DEFER_ARGS : [])],
    },
    kernel,
    initramfs,
  );
  // `ip netns exec` enters the namespace and execs QEMU: the pid is QEMU's.
  const child = spawn("ip", ["netns", "exec", o.netns, "qemu-system-x86_64", ...argv], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  let serial: SerialConsole | undefined;
  let qmp: QmpClient | undefined;
  const kill = async () => {
    serial?.close();
    qmp?.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  try {
    serial = await SerialConsole.connect(join(o.dir, "serial.sock"), {
      logFile: join(o.dir, "console.log"),
      connectTimeoutMs: 30_000,
    });
    qmp = await QmpClient.connect(join(o.dir, "qmp.sock"), { connectTimeoutMs: 30_000 });
    if (!o.incoming) await qmp.execute("cont");
  } catch (cause) {
    await kill();
    throw new Error(`QEMU in ${o.netns} did not come up: ${stderr.trim()}`, { cause });
  }
  return { pid: child.pid ?? -1, serial, qmp, exited, stderr: () => stderr, kill };
}

/**
 * The guest's counter: every 200 ms it prints `TICK <n> <uptime>` on the console and writes
 * `COUNT <n>` into the first sector of the disk with fsync, in the background of the console shell.
 */
export const COUNTER_SCRIPT =
  '(i=0; while :; do i=$((i+1)); echo "TICK $i $(cut -d" " -f1 /proc/uptime)"; ' +
  'printf "COUNT %08d\\n" $i | dd of=/dev/vda bs=512 count=1 conv=fsync,notrunc 2>/dev/null; ' +
  "sleep 0.2; done) >/dev/console 2>&1 &";

/** Parses the last `TICK n uptime` line of a transcript. */
export function lastTick(transcript: string): { n: number; uptime: number } | undefined {
  const all = [...transcript.matchAll(/^TICK (\d+) ([\d.]+)\r?$/gm)];
  const m = all.at(-1);
  return m ? { n: Number(m[1]), uptime: Number(m[2]) } : undefined;
}
