/**
 * The guest agent's shell: the unix socket of QEMU's `org.qemu.guest_agent.0` channel, the flood budget,
 * the poll of what the agent reports, and the commands the launcher offers on top (ping, exec, shutdown,
 * freeze/thaw). The protocol itself is session.ts; the parsing of answers is info.ts.
 */
import type { Socket } from "node:net";
import { connectWithRetry } from "../../lib/net/connect.ts";
import type { AgentReport, GuestInfo } from "../../crds/contract/guest-agent.ts";
import { ByteBudget, FLOOD_DEFAULTS } from "./flood.ts";
import {
  agentVersionOf,
  filesystemsOf,
  hostnameOf,
  interfacesOf,
  osInfoOf,
  timezoneOf,
  usersOf,
} from "./info.ts";
import { AgentLineReader, DEFAULT_MAX_LINE_BYTES } from "./lines.ts";
import { AgentError, AgentSession, AGENT_ERRORS, type SessionOptions } from "./session.ts";

/** The few logger methods the agent uses. */
export interface AgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How the agent is reached and how often it is asked. */
export interface GuestAgentOptions {
  socketPath: string;
  log: AgentLog;
  /** Between full polls while the agent answers (default 30 s). */
  pollMs?: number;
  /** Between handshakes while it does not (default min(pollMs, 5 s)). */
  retryMs?: number;
  maxLineBytes?: number;
  session?: SessionOptions;
  flood?: { bytesPerSecond: number; burstBytes: number };
}

/** Bytes the launcher lets wait in its socket buffer: more means the guest is not reading the channel. */
const MAX_UNSENT_BYTES = 4096;

type Part = keyof GuestInfo;
/** The info commands, each with where its answer goes. */
const INFO: ReadonlyArray<[string, Part, (a: unknown) => GuestInfo[Part]]> = [
  ["guest-info", "agentVersion", agentVersionOf],
  ["guest-get-osinfo", "osInfo", osInfoOf],
  ["guest-get-host-name", "hostname", hostnameOf],
  ["guest-get-timezone", "timezone", timezoneOf],
  ["guest-network-get-interfaces", "interfaces", interfacesOf],
  ["guest-get-fsinfo", "filesystems", filesystemsOf],
  ["guest-get-users", "users", usersOf],
];

/** One VM's guest agent, as the launcher sees it; see the file comment. */
export class GuestAgent {
  readonly #o: GuestAgentOptions;
  readonly #session: AgentSession;
  readonly #budget: ByteBudget;
  #reader: AgentLineReader;
  #info: GuestInfo = {};
  #updatedAt: string | undefined;
  #socket: Socket | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #lastReason = "";
  #polled: Array<() => void> = [];

  constructor(o: GuestAgentOptions) {
    this.#o = o;
    this.#session = new AgentSession(o.session);
    this.#budget = new ByteBudget(o.flood ?? FLOOD_DEFAULTS);
    this.#reader = new AgentLineReader(o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  }

  /** Connects to the channel (QEMU listens on it from its start) and begins polling. */
  start(): void {
    void this.#connect();
  }

  /** What the agent last reported, and whether it answers now. */
  report(): AgentReport {
    const h = this.#session.health;
    return {
      connected: h.connected,
      reason: h.reason,
      message: h.message,
      ...(this.#updatedAt ? { updatedAt: this.#updatedAt } : {}),
      info: this.#info,
      counters: { ...this.#session.counters },
    };
  }

  /** Resolves after the next full poll (tests and `agent --fresh`). */
  nextPoll(): Promise<void> {
    return new Promise((resolve) => this.#polled.push(resolve));
  }

  /** guest-ping: resolves when the agent answers. */
  async ping(timeoutMs?: number): Promise<void> {
    await this.#session.execute("guest-ping", undefined, timeoutMs ? { timeoutMs } : {});
  }

  /** Asks the guest OS to power off, halt or reboot itself (the agent does not answer on success). */
  async shutdown(mode: "powerdown" | "reboot" | "halt"): Promise<void> {
    await this.ping(); // the answer says the agent runs: a shutdown sent into the void would look the same
    await this.#session.execute("guest-shutdown", { mode }, { noReply: true });
  }

  /** guest-fsfreeze-freeze: the number of filesystems frozen (for snapshots). */
  async freeze(timeoutMs = 60_000): Promise<number> {
    return Number(await this.#session.execute("guest-fsfreeze-freeze", undefined, { timeoutMs }));
  }

  /** guest-fsfreeze-thaw: the number of filesystems thawed. */
  async thaw(timeoutMs = 60_000): Promise<number> {
    return Number(await this.#session.execute("guest-fsfreeze-thaw", undefined, { timeoutMs }));
  }

  /** guest-fsfreeze-status: "thawed" or "frozen". */
  async freezeStatus(): Promise<string> {
    return String(await this.#session.execute("guest-fsfreeze-status"));
  }

  /**
   * Runs a command in the guest (guest-exec, then guest-exec-status until it exits) and returns its exit
   * code; output is not captured, so the answers stay small. For `exec` probes.
   */
  async exec(command: readonly string[], timeoutMs: number): Promise<number> {
    const [path, ...arg] = command;
    if (!path) throw new AgentError(AGENT_ERRORS.COMMAND, "exec: no command");
    const deadline = Date.now() + timeoutMs;
    const started = (await this.#session.execute("guest-exec", { path, arg, "capture-output": false })) as {
      pid?: unknown;
    };
    if (typeof started?.pid !== "number") throw new AgentError(AGENT_ERRORS.PROTOCOL, "guest-exec: no pid");
    for (;;) {
      const s = (await this.#session.execute("guest-exec-status", { pid: started.pid })) as {
        exited?: unknown;
        exitcode?: unknown;
        signal?: unknown;
      };
      if (s?.exited === true)
        return typeof s.exitcode === "number" ? s.exitcode : 128 + Number(s.signal ?? 0);
      if (Date.now() >= deadline)
        throw new AgentError(AGENT_ERRORS.TIMEOUT, `${path} did not exit within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops polling and closes the channel. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.destroy();
    this.#session.close("the launcher is stopping");
  }

  async #connect(): Promise<void> {
    let socket: Socket;
    try {
      socket = await connectWithRetry(this.#o.socketPath, {
        timeoutMs: Infinity,
        intervalMs: 500,
        giveUp: () => this.#stopped,
      });
    } catch {
      return; // stopped
    }
    if (this.#stopped) return void socket.destroy();
    this.#socket = socket;
    this.#reader = new AgentLineReader(this.#o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    socket.on("data", (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on("error", () => {}); // "close" follows
    socket.on("close", () => {
      this.#session.close("the agent channel closed (QEMU exited?)");
      this.#logHealth();
      if (!this.#stopped) setTimeout(() => void this.#connect(), 1000).unref();
    });
    this.#session.open((data) => {
      if (socket.destroyed || socket.writableLength > MAX_UNSENT_BYTES) return false;
      socket.write(data);
      return true;
    });
    this.#schedule(0);
  }

  #onData(socket: Socket, chunk: Buffer): void {
    const pauseMs = this.#budget.spend(chunk.length);
    if (pauseMs > 0) {
      // Over budget: drop the chunk unparsed and stop reading; the line it belonged to is lost too.
      this.#reader.skip(chunk.length);
      this.#session.flooding(`the guest floods the agent channel; not reading it for ${pauseMs} ms`);
      this.#logHealth();
      socket.pause();
      setTimeout(() => socket.resume(), pauseMs).unref();
      return;
    }
    this.#session.onFrames(this.#reader.push(chunk));
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#poll(), ms);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    let complete = true;
    for (const [command, part, parse] of INFO) {
      try {
        const value = parse(await this.#session.execute(command));
        this.#info = { ...this.#info, [part]: value };
      } catch (err) {
        complete = false;
        // An agent without the command answers with an error and stays connected: try the next one.
        if ((err as AgentError).code !== AGENT_ERRORS.COMMAND) break;
      }
    }
    if (complete) this.#updatedAt = new Date().toISOString();
    this.#logHealth();
    for (const resolve of this.#polled.splice(0)) resolve();
    const pollMs = this.#o.pollMs ?? 30_000;
    this.#schedule(this.#session.health.connected ? pollMs : (this.#o.retryMs ?? Math.min(pollMs, 5000)));
  }

  /** Logs changes of the agent's state only: the guest can flip it at most once per event it causes. */
  #logHealth(): void {
    const h = this.#session.health;
    if (h.reason === this.#lastReason) return;
    this.#lastReason = h.reason;
    this.#o.log[h.connected ? "info" : "warn"]({ agent: h }, `guest agent: ${h.reason}`);
  }
}
