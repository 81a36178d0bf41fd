/**
 * `vireo run FILE`: a VirtualMachine on this host, through the same launcher a pod runs. A network
 * namespace plays the pod, a work directory plays its volumes, and `vireo-launcher` runs inside it
 * (netsetup first when the VM has NICs), exactly as in the cluster.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import type { LauncherStatus } from "../../launcher/supervisor/state.ts";
import { imageDirs } from "./images.ts";
import { applyLayout, planLayout } from "./layout.ts";
import { createPodNetns, removePodNetns, type PodNetns } from "./netns.ts";
import { connectWithRetry } from "../../lib/net/connect.ts";

/** Options of `vireo run`. */
export interface StandaloneOptions {
  file: string;
  /** Keep the work directory (and use this one instead of a temporary directory). */
  workDir?: string;
  keep?: boolean;
  /** Stop the VM gracefully after this many seconds. */
  timeoutSeconds?: number;
  /** Stop the VM gracefully as soon as it is ready. */
  exitAfterReady?: boolean;
  /** Ready also requires a console line matching this pattern (e.g. a guest's own "ready" line). */
  readyOnConsole?: RegExp;
  /** Allow TCG when KVM is unusable (default true: the demo must run anywhere; it is said out loud). */
  allowEmulation?: boolean;
  /** Binding for pod-network NICs that name none. */
  defaultBinding?: "bridge" | "masquerade" | "passt";
  /** The capacity each PersistentVolumeClaim stands for (its directory has no size of its own). */
  pvcSizeBytes?: number;
  /** Where the guest console goes (default stdout) and where messages go (default stderr). */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

/** Thrown for a manifest `vireo run` cannot use. */
export class StandaloneError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "STANDALONE_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StandaloneError";
  }
}

/** What a PersistentVolumeClaim stands for in standalone mode unless `--pvc-size` says otherwise. */
export const DEFAULT_PVC_BYTES = 10 * 2 ** 30;

const LAUNCHER_BIN = [
  new URL("../../bin/vireo-launcher.js", import.meta.url),
  new URL("../../../bin/vireo-launcher.js", import.meta.url),
]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p));

/** Reads the first VirtualMachine in a YAML file and validates it. */
export async function readVirtualMachine(file: string): Promise<VirtualMachine> {
  const text = file === "-" ? readFileSync(0, "utf8") : await readFile(file, "utf8");
  const docs = parseAllDocuments(text);
  for (const d of docs) if (d.errors.length) throw new StandaloneError(`${file}: ${d.errors[0]!.message}`);
  const objects = docs
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o) => o?.kind === "VirtualMachine");
  if (objects.length !== 1)
    throw new StandaloneError(`${file}: expected exactly one VirtualMachine, found ${objects.length}`);
  return parseVirtualMachine(objects[0]);
}

/** Runs the VM until it ends; returns the launcher's exit code. */
export async function runStandalone(options: StandaloneOptions): Promise<number> {
  const say = (line: string) => (options.err ?? process.stderr).write(`vireo: ${line}\n`);
  const out = options.out ?? process.stdout;
  if (!LAUNCHER_BIN) throw new StandaloneError("cannot find bin/vireo-launcher.js next to this checkout");
  if (process.getuid?.() !== 0)
    throw new StandaloneError("vireo run needs root: it creates a network namespace to play the pod");

  const vm = await readVirtualMachine(options.file);
  if (vm.spec.runStrategy === "Halted") {
    say(`${vm.metadata.name}: runStrategy is Halted; nothing to run`);
    return 0;
  }
  const keep = options.keep ?? options.workDir !== undefined;
  const { workDir, config, files, configFile, termLog, logFile } = await prepareWorkDir(vm, options);

  let ns: PodNetns | undefined;
  const stop = stopper(say);
  const requestStop = (why: string) => stop.request(why);
  const onSigint = () => requestStop("Ctrl-C");
  const onSigterm = () => requestStop("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  let guestConsole: { text(): string; destroy(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;

  try {
    await applyLayout(planLayout(vm, config, imageDirs()));
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    ns = await createPodNetns(process.pid);
    say(
      `pod network namespace ${ns.name}: pod IP ${ns.podIp}/${ns.prefixLength}, host ${ns.hostIp} (${ns.hostIf}); work dir ${workDir}`,
    );
    if (stop.stopping) return 0;

    if (config.interfaces.length) {
      const code = await runToEnd(inNetns(ns, ["netsetup", "--config", configFile]), logFile);
      if (code !== 0)
        throw new StandaloneError(`netsetup failed (exit ${code}); see ${logFile}:\n${tail(logFile)}`);
    }
    if (stop.stopping) return 0;

    // setpriv: if this command dies, the launcher gets SIGTERM and shuts the guest down. Its own process
    // group, so a terminal's Ctrl-C reaches only this command, which asks the launcher once.
    const argv = [
      "setpriv",
      "--pdeathsig",
      "TERM",
      "--",
      ...inNetns(ns, ["--config", configFile, "--termination-log", termLog]),
    ];
    const { child, exited } = spawnLauncher(argv, logFile, say);
    stop.attach(child);

    if (!config.interfaces.length) say("the VM has no network interfaces");
    else say(`the guest is reachable from this host at ${ns.podIp} (bridge: the guest holds the pod IP)`);

    guestConsole = watchConsole(files.consoleSocket, exited, out, say);

    timer = autoStops(options, requestStop, () =>
      waitReady(vm, ns!, files.controlSocket, guestConsole!.text, options.readyOnConsole, exited),
    );
    if (stop.stopping) requestStop("stop requested");
    return await reportExit(exited, termLog, logFile, say);
  } finally {
    clearTimeout(timer);
    guestConsole?.destroy();
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
    if (ns) await removePodNetns(ns);
    if (keep) say(`kept the work directory ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

/** Makes the work directory and the launcher's config for it; names the files the run keeps there. */
async function prepareWorkDir(vm: VirtualMachine, options: StandaloneOptions) {
  const workDir = options.workDir ? resolve(options.workDir) : mkdtempSync(join(tmpdir(), "vireo-run-"));
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const config = launcherConfigFromVm(vm, {
    allowEmulation: options.allowEmulation ?? true,
    defaultBinding: options.defaultBinding ?? "bridge",
    paths: podPaths(workDir),
    claims: standaloneClaims(vm, options.pvcSizeBytes ?? DEFAULT_PVC_BYTES),
  });
  return {
    workDir,
    config,
    files: runtimeFiles(config.paths, config.boot),
    configFile: join(workDir, "launcher-config.json"),
    termLog: join(workDir, "termination-log"),
    logFile: join(workDir, "launcher.log"),
  };
}

/** A vireo-launcher command line run inside the pod's network namespace. */
function inNetns(ns: PodNetns, args: string[]): string[] {
  return ["ip", "netns", "exec", ns.name, process.execPath, LAUNCHER_BIN!, ...args];
}

/** The stops the flags ask for: at --timeout, and with --exit-after-ready once `ready()` says so. */
function autoStops(
  options: StandaloneOptions,
  requestStop: (why: string) => void,
  ready: () => Promise<boolean>,
): NodeJS.Timeout | undefined {
  const timer =
    options.timeoutSeconds === undefined
      ? undefined
      : setTimeout(
          () => requestStop(`--timeout ${options.timeoutSeconds}s reached`),
          options.timeoutSeconds * 1000,
        );
  if (options.exitAfterReady)
    void ready().then((r) => {
      if (r) requestStop("ready (--exit-after-ready)");
    });
  return timer;
}

/** Waits for the launcher to end and says how: its termination message, and its log's tail on failure. */
async function reportExit(
  exited: Promise<number>,
  termLog: string,
  logFile: string,
  say: (line: string) => void,
): Promise<number> {
  const code = await exited;
  await sleep(100); // the console's last bytes
  const message = existsSync(termLog) ? readFileSync(termLog, "utf8") : "(no termination message)";
  say(`launcher exited with ${code}: ${message}`);
  if (code !== 0) say(`last launcher log lines (${logFile}):\n${tail(logFile)}`);
  return code;
}

/** Each claim as a plain directory of a fixed capacity: without one the launcher would size its disk to the
 * host filesystem's free space. */
function standaloneClaims(vm: VirtualMachine, capacityBytes: number) {
  return Object.fromEntries(
    vm.spec.volumes.flatMap((v) =>
      v.persistentVolumeClaim
        ? [[v.persistentVolumeClaim.claimName, { volumeMode: "Filesystem" as const, capacityBytes }]]
        : [],
    ),
  );
}

/**
 * Stop requests (Ctrl-C, SIGTERM, --timeout, ready): before the launcher runs they only mark the run as
 * stopping; then each is a SIGTERM to the launcher, which counts them — the second quits QEMU at once.
 */
function stopper(say: (line: string) => void) {
  let launcher: ChildProcess | undefined;
  let stopping = false;
  let stops = 0;
  return {
    get stopping() {
      return stopping;
    },
    attach(child: ChildProcess): void {
      launcher = child;
    },
    request(why: string): void {
      stops++;
      if (!launcher) {
        stopping = true;
        return;
      }
      say(
        stops > 1
          ? "stopping now (QEMU quit)"
          : `${why}: shutting the guest down (ACPI power button; again to force)`,
      );
      launcher.kill("SIGTERM");
    },
  };
}

/** Starts the launcher with its output appended to the log file; `exited` resolves to its exit code. */
function spawnLauncher(
  argv: string[],
  logFile: string,
  say: (line: string) => void,
): { child: ChildProcess; exited: Promise<number> } {
  const logStream = createWriteStream(logFile, { flags: "a" });
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: process.env,
  });
  const exited = new Promise<number>((res) =>
    child.once("exit", (code, signal) => res(code ?? (signal ? 128 : 1))),
  );
  relayLogs(child, logStream, say);
  return { child, exited };
}

/**
 * Copies the guest console to `out` once its socket is there (the launcher replays what the guest printed
 * so far), keeps the last 64 KiB for the ready check, and says the test guest's DHCP address once.
 */
function watchConsole(
  socketPath: string,
  exited: Promise<number>,
  out: NodeJS.WritableStream,
  say: (line: string) => void,
): { text(): string; destroy(): void } {
  let consoleText = "";
  let addressSaid = false;
  let socket: Socket | undefined;
  void (async () => {
    socket = await connectWhenReady(socketPath, exited);
    if (!socket) return;
    socket.on("data", (chunk: Buffer) => {
      out.write(chunk);
      consoleText = (consoleText + chunk.toString("utf8")).slice(-65536);
      // The test guest reports its DHCP lease; other guests are reached at the pod IP said above.
      const addr = addressSaid ? null : /VIREO-GUEST addr iface=(\S+) ip=(\S+)/.exec(consoleText);
      if (addr) {
        addressSaid = true;
        say(`guest address: ${addr[2]} (${addr[1]})`);
      }
    });
    socket.on("error", () => {});
  })();
  return { text: () => consoleText, destroy: () => socket?.destroy() };
}

function tail(file: string, lines = 15): string {
  return existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";
}

/** Runs a command to its end with its output appended to a log file. */
function runToEnd(argv: string[], logFile: string): Promise<number> {
  return new Promise((res) => {
    const log = createWriteStream(logFile, { flags: "a" });
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    child.once("close", (code) => {
      log.end();
      res(code ?? 1);
    });
  });
}

/** Keeps the launcher's JSON log in a file and says its notable lines (info and up) in plain words. */
function relayLogs(child: ChildProcess, log: NodeJS.WritableStream, say: (line: string) => void): void {
  let partial = "";
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; stderr?: string; warning?: string };
        if ((entry.level ?? 0) < 30 || !entry.msg || /^(QMP event|KVM probe|QEMU started)/.test(entry.msg))
          continue;
        if (entry.msg === "qemu stderr") say(`qemu: ${entry.stderr}`);
        else say(entry.warning ? `${entry.msg}: ${entry.warning}` : entry.msg);
      } catch {
        if (line.trim()) say(line);
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
}

async function connectWhenReady(path: string, exited: Promise<number>): Promise<Socket | undefined> {
  let done = false;
  void exited.then(() => (done = true));
  return connectWithRetry(path, { timeoutMs: Infinity, intervalMs: 100, giveUp: () => done }).catch(
    () => undefined,
  );
}

/**
 * Ready as the cluster would see it: the launcher reports the guest running and, when the VM has a
 * readiness probe, the probe passes against the pod IP; optionally a console line as well.
 */
async function waitReady(
  vm: VirtualMachine,
  ns: PodNetns,
  controlSocket: string,
  consoleText: () => string,
  pattern: RegExp | undefined,
  exited: Promise<number>,
): Promise<boolean> {
  let done = false;
  void exited.then(() => (done = true));
  const probe = vm.spec.readinessProbe;
  while (!done) {
    const status = (await controlRequest(controlSocket, "status", 2000).catch(() => undefined)) as
      LauncherStatus | undefined;
    let ok = status?.phase === "running";
    if (ok && pattern) ok = pattern.test(consoleText());
    if (ok && probe?.httpGet)
      ok = await fetch(`http://${ns.podIp}:${probe.httpGet.port}${probe.httpGet.path}`, {
        signal: AbortSignal.timeout(2000),
      })
        .then((r) => r.ok)
        .catch(() => false);
    if (ok && probe?.tcpSocket) ok = await tcpOpen(ns.podIp, probe.tcpSocket.port);
    if (ok) return true;
    await sleep(500);
  }
  return false;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port, timeout: 2000 });
    s.once("connect", () => (s.destroy(), res(true)));
    s.once("error", () => res(false));
    s.once("timeout", () => (s.destroy(), res(false)));
  });
}
