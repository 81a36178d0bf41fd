import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { QmpClient, type QmpEvent } from "../../launcher/qemu/qmp-client.ts";
import { QmpError } from "../../launcher/qemu/qmp-errors.ts";
import { guestArtifacts } from "./artifacts.ts";
import { SerialConsole } from "./serial-console.ts";

// A plain QEMU command line for tests of the guest itself and for experiments. The launcher builds
// the real argv (issue 5); this stays just enough to boot the test guest under TCG.

/** What to boot. */
export interface TestQemuOptions {
  /** Directory for the sockets and the console log (the caller creates and removes it). */
  dir: string;
  cpus?: number;
  memoryMiB?: number;
  /** Extra kernel parameters, e.g. "vireo.panic=1". */
  append?: string[];
  /** Extra QEMU arguments (devices, drives, netdevs). */
  args?: string[];
}

/** A running test guest: its process, console and QMP connection. */
export interface TestQemu {
  pid: number;
  serial: SerialConsole;
  /** The launcher's QMP client, connected before the guest started running. */
  qmp: QmpClient;
  /** Every QMP event since the connection, in order. */
  events: QmpEvent[];
  /** The first event named `name` (matching `predicate`), whether it already came or is yet to come. */
  waitForEvent(name: string, timeoutMs: number, predicate?: (e: QmpEvent) => boolean): Promise<QmpEvent>;
  /** The full argv, for failure messages. */
  argv: string[];
  /** Settles when QEMU exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What QEMU wrote to stderr. */
  stderr(): string;
  /** SIGKILLs QEMU if it still runs and closes the connections; safe to call twice. */
  kill(): Promise<void>;
}

/** The QEMU argv for the test guest (pure). */
export function testQemuArgv(options: TestQemuOptions, kernel: string, initramfs: string): string[] {
  const append = ["console=ttyS0", "panic=-1", ...(options.append ?? [])].join(" ");
  // prettier-ignore
  return [
    "-machine", "q35,accel=tcg",
    "-cpu", "max",
    "-smp", String(options.cpus ?? 1),
    "-m", String(options.memoryMiB ?? 256),
    "-nodefaults", "-no-user-config", "-display", "none",
    // A panicking guest (panic=-1 reboots at once) ends QEMU instead of hanging a test.
    "-no-reboot",
    // Paused until the console is connected, so the transcript starts at the first byte.
    "-S",
    "-kernel", kernel,
    "-initrd", initramfs,
    "-append", append,
    "-chardev", `socket,id=serial0,path=${join(options.dir, "serial.sock")},server=on,wait=off`,
    "-serial", "chardev:serial0",
    "-qmp", `unix:${join(options.dir, "qmp.sock")},server=on,wait=off`,
    ...(options.args ?? []),
  ];
}

/** Starts QEMU with the cached test guest, connects console and QMP, then lets the guest run. */
export async function startTestQemu(options: TestQemuOptions): Promise<TestQemu> {
  const { kernel, initramfs } = guestArtifacts();
  const argv = testQemuArgv(options, kernel, initramfs);
  const child: ChildProcess = spawn("qemu-system-x86_64", argv, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  const pid = child.pid;
  let serial: SerialConsole | undefined;
  let qmp: QmpClient | undefined;
  const events: QmpEvent[] = [];
  const kill = async (): Promise<void> => {
    serial?.close();
    qmp?.close();
    if (child.exitCode === null && child.signalCode === null && pid !== undefined) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
      await exited;
    }
  };
  try {
    if (pid === undefined) throw new Error("qemu-system-x86_64 did not start");
    serial = await SerialConsole.connect(join(options.dir, "serial.sock"), {
      logFile: join(options.dir, "console.log"),
    });
    qmp = await QmpClient.connect(join(options.dir, "qmp.sock"));
    qmp.onEvent((event) => events.push(event));
    await qmp.execute("cont");
  } catch (cause) {
    await kill();
    throw new Error(`QEMU did not come up: ${stderr.trim()}\nargv: ${argv.join(" ")}`, { cause });
  }
  const client = qmp;
  const waitForEvent = async (
    name: string,
    timeoutMs: number,
    predicate: (e: QmpEvent) => boolean = () => true,
  ): Promise<QmpEvent> => {
    const seen = events.find((e) => e.event === name && predicate(e));
    if (seen) return seen;
    try {
      return await client.waitForEvent(name, timeoutMs, predicate);
    } catch (error) {
      // QEMU may exit right after the event: the connection then closes with the event recorded.
      const late = events.find((e) => e.event === name && predicate(e));
      if (late && error instanceof QmpError && error.code === "QMP_CLOSED") return late;
      throw error;
    }
  };
  return { pid, serial, qmp: client, events, waitForEvent, argv, exited, stderr: () => stderr, kill };
}
