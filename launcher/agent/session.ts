/**
 * The QEMU guest agent protocol on one channel, as a state machine: a `guest-sync-delimited` handshake before
 * the first command and after anything that leaves the stream in doubt (a timeout, garbage, an oversized
 * line), one command in flight (the agent answers in order and without ids), a bounded queue, and a deadline
 * on everything. It holds no socket: the shell feeds it frames and gives it a `write`, so tests drive it by
 * hand. What the guest sends is never trusted: answers are parsed by the caller with schemas.
 */
import type { AgentFrame } from "./lines.ts";

/** Why the agent is not (or is) usable, for the `AgentConnected` condition. */
export type AgentReason =
  | "Connected"
  | "ChannelClosed"
  | "NotSynced"
  | "AgentNotResponding"
  | "ChannelBlocked"
  | "ProtocolError"
  | "LineTooLong"
  | "Flooding";

/** The agent's state as the launcher reports it. */
export interface AgentHealth {
  connected: boolean;
  reason: AgentReason;
  message: string;
}

/** Counters of what the guest sent that was not an answer (for metrics and the report). */
export interface AgentCounters {
  syncs: number;
  timeouts: number;
  oversizedLines: number;
  garbageLines: number;
  unsolicitedLines: number;
  floodPauses: number;
}

/** A command the agent refused, or the session could not carry out; `code` is stable. */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AgentError";
  }
}

/** Stable codes of {@link AgentError}. */
export const AGENT_ERRORS = {
  NOT_CONNECTED: "AGENT_NOT_CONNECTED",
  TIMEOUT: "AGENT_TIMEOUT",
  PROTOCOL: "AGENT_PROTOCOL",
  LINE_TOO_LONG: "AGENT_LINE_TOO_LONG",
  BUSY: "AGENT_BUSY",
  BLOCKED: "AGENT_CHANNEL_BLOCKED",
  /** The agent answered with `{"error": …}`; the message carries its class and description. */
  COMMAND: "AGENT_COMMAND_FAILED",
} as const;

/** Tunables; defaults suit a TCG guest on a busy host. */
export interface SessionOptions {
  syncTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxQueued?: number;
  /** Sync ids (tests pass a counter). */
  nextSyncId?: () => number;
}

/** The session's way out: false when the channel is backed up and nothing was written. */
export type AgentWrite = (data: Buffer) => boolean;

interface Request {
  execute: string;
  args: Record<string, unknown> | undefined;
  timeoutMs: number;
  noReply: boolean;
  resolve: (value: unknown) => void;
  reject: (err: AgentError) => void;
}

type Phase =
  | { kind: "down" }
  | { kind: "unsynced" }
  | { kind: "syncing"; id: number; marked: boolean; garbage: number; timer: NodeJS.Timeout }
  | { kind: "ready" }
  | { kind: "busy"; request: Request; timer: NodeJS.Timeout };

const SYNC_MARK = Buffer.from([0xff]);

/** One guest agent channel's protocol state; see the file comment. */
export class AgentSession {
  readonly counters: AgentCounters = {
    syncs: 0,
    timeouts: 0,
    oversizedLines: 0,
    garbageLines: 0,
    unsolicitedLines: 0,
    floodPauses: 0,
  };
  #phase: Phase = { kind: "down" };
  #health: AgentHealth = { connected: false, reason: "ChannelClosed", message: "no agent channel yet" };
  #queue: Request[] = [];
  #write: AgentWrite = () => false;
  readonly #o: Required<SessionOptions>;

  constructor(options: SessionOptions = {}) {
    this.#o = {
      syncTimeoutMs: options.syncTimeoutMs ?? 10_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
      maxQueued: options.maxQueued ?? 16,
      nextSyncId: options.nextSyncId ?? (() => Math.floor(Math.random() * 0x7fffffff)),
    };
  }

  /** Whether the agent answered the last handshake and nothing has gone wrong since. */
  get health(): AgentHealth {
    return this.#health;
  }

  /** The channel is open: commands may be sent (a handshake comes first). */
  open(write: AgentWrite): void {
    this.#write = write;
    this.#phase = { kind: "unsynced" };
    this.#setHealth(false, "NotSynced", "the agent has not answered a handshake yet");
  }

  /** The channel is gone: everything pending fails. */
  close(message = "the agent channel closed"): void {
    this.#clearTimer();
    this.#phase = { kind: "down" };
    this.#write = () => false;
    this.#setHealth(false, "ChannelClosed", message);
    this.#failAll(new AgentError(AGENT_ERRORS.NOT_CONNECTED, message));
  }

  /** The shell saw the guest flood the channel and stopped reading for a while. */
  flooding(message: string): void {
    this.counters.floodPauses++;
    // Fail what waits too: a new handshake per pause would answer the flood with writes of our own.
    const err = new AgentError(AGENT_ERRORS.PROTOCOL, message);
    this.#failAll(err);
    this.#desync("Flooding", message, err);
  }

  /** Runs one agent command; resolves with its `return` value. */
  execute(
    execute: string,
    args?: Record<string, unknown>,
    o: { timeoutMs?: number; noReply?: boolean } = {},
  ): Promise<unknown> {
    if (this.#phase.kind === "down")
      return Promise.reject(new AgentError(AGENT_ERRORS.NOT_CONNECTED, this.#health.message));
    if (this.#queue.length >= this.#o.maxQueued)
      return Promise.reject(
        new AgentError(AGENT_ERRORS.BUSY, `${this.#queue.length} agent commands are already waiting`),
      );
    return new Promise((resolve, reject) => {
      const timeoutMs = o.timeoutMs ?? this.#o.commandTimeoutMs;
      this.#queue.push({ execute, args, timeoutMs, noReply: o.noReply ?? false, resolve, reject });
      this.#pump();
    });
  }

  /** Feeds what the line reader found. */
  onFrames(frames: AgentFrame[]): void {
    for (const f of frames) this.#onFrame(f);
  }

  #onFrame(f: AgentFrame): void {
    const p = this.#phase;
    if (f.kind === "oversized") {
      this.counters.oversizedLines++;
      const msg = `the agent sent a line of ${f.bytes} bytes or more; dropped`;
      this.#desync("LineTooLong", msg, new AgentError(AGENT_ERRORS.LINE_TOO_LONG, msg));
      return;
    }
    if (p.kind === "syncing") return this.#onSyncFrame(p, f);
    if (f.kind === "sync-mark") return; // a late answer to an earlier handshake
    if (p.kind !== "busy") {
      this.counters.unsolicitedLines++;
      return;
    }
    this.#onAnswer(p, f.text);
  }

  #onSyncFrame(p: Extract<Phase, { kind: "syncing" }>, f: Exclude<AgentFrame, { kind: "oversized" }>): void {
    if (f.kind === "sync-mark") {
      p.marked = true;
      return;
    }
    const answer = parseObject(f.text);
    if (p.marked && answer && answer.return === p.id) {
      clearTimeout(p.timer);
      this.#phase = { kind: "ready" };
      this.#setHealth(true, "Connected", "the agent answers");
      this.#pump();
      return;
    }
    // Anything else before our answer is left over from before the handshake, or garbage.
    if (!answer) {
      this.counters.garbageLines++;
      p.garbage++;
    } else this.counters.unsolicitedLines++;
  }

  #onAnswer(p: Extract<Phase, { kind: "busy" }>, text: string): void {
    const answer = parseObject(text);
    const r = p.request;
    if (!answer || (!("return" in answer) && !("error" in answer))) {
      this.counters.garbageLines++;
      const msg = `the agent answered ${r.execute} with something that is not an answer: ${snippet(text)}`;
      this.#desync("ProtocolError", msg, new AgentError(AGENT_ERRORS.PROTOCOL, msg));
      return;
    }
    clearTimeout(p.timer);
    this.#phase = { kind: "ready" };
    if ("return" in answer) r.resolve(answer.return);
    else r.reject(new AgentError(AGENT_ERRORS.COMMAND, `${r.execute}: ${describeError(answer.error)}`));
    this.#pump();
  }

  /** Starts the handshake or the next command, whichever the phase allows. */
  #pump(): void {
    const p = this.#phase;
    if (p.kind === "unsynced" && this.#queue.length) return this.#sync();
    if (p.kind !== "ready") return;
    const r = this.#queue.shift();
    if (!r) return;
    const line = JSON.stringify(r.args ? { execute: r.execute, arguments: r.args } : { execute: r.execute });
    if (!this.#write(Buffer.from(line + "\n"))) return this.#blocked(r);
    if (r.noReply) {
      // guest-shutdown and friends answer only on failure; the stream is in doubt afterwards.
      this.#phase = { kind: "unsynced" };
      r.resolve(undefined);
      return;
    }
    const timer = setTimeout(() => this.#timedOut(r), r.timeoutMs);
    this.#phase = { kind: "busy", request: r, timer };
  }

  #sync(): void {
    const id = this.#o.nextSyncId();
    this.counters.syncs++;
    const line = JSON.stringify({ execute: "guest-sync-delimited", arguments: { id } }) + "\n";
    // The leading 0xFF makes the agent drop any half-parsed input before reading our request.
    if (!this.#write(Buffer.concat([SYNC_MARK, Buffer.from(line)]))) return this.#blocked();
    const phase: Extract<Phase, { kind: "syncing" }> = {
      kind: "syncing",
      id,
      marked: false,
      garbage: 0,
      timer: setTimeout(() => this.#syncTimedOut(phase), this.#o.syncTimeoutMs),
    };
    this.#phase = phase;
  }

  #syncTimedOut(p: Extract<Phase, { kind: "syncing" }>): void {
    this.counters.timeouts++;
    const waited = `within ${this.#o.syncTimeoutMs} ms`;
    const [reason, msg]: [AgentReason, string] = p.garbage
      ? [
          "ProtocolError",
          `no answer to guest-sync-delimited ${waited}, but ${p.garbage} lines that are not JSON`,
        ]
      : ["AgentNotResponding", `no answer to guest-sync-delimited ${waited}`];
    this.#phase = { kind: "unsynced" };
    this.#setHealth(false, reason, msg);
    this.#failAll(new AgentError(AGENT_ERRORS.NOT_CONNECTED, msg));
  }

  #timedOut(r: Request): void {
    this.counters.timeouts++;
    const msg = `no answer to ${r.execute} within ${r.timeoutMs} ms`;
    this.#phase = { kind: "unsynced" };
    this.#setHealth(false, "AgentNotResponding", msg);
    r.reject(new AgentError(AGENT_ERRORS.TIMEOUT, msg));
    this.#pump();
  }

  /** The guest does not read the channel (no agent running): fail without queueing more bytes. */
  #blocked(r?: Request): void {
    const msg = "the guest does not read the agent channel (is qemu-guest-agent running?)";
    this.#phase = { kind: "unsynced" };
    this.#setHealth(false, "ChannelBlocked", msg);
    const err = new AgentError(AGENT_ERRORS.BLOCKED, msg);
    r?.reject(err);
    this.#failAll(err);
  }

  /** The stream is in doubt: fail what is in flight and hand-shake again before the next command. */
  #desync(reason: AgentReason, message: string, err: AgentError): void {
    const p = this.#phase;
    if (p.kind === "down") return;
    this.#clearTimer();
    if (p.kind === "busy") p.request.reject(err);
    this.#phase = { kind: "unsynced" };
    this.#setHealth(false, reason, message);
    this.#pump();
  }

  #clearTimer(): void {
    const p = this.#phase;
    if (p.kind === "busy" || p.kind === "syncing") clearTimeout(p.timer);
  }

  #failAll(err: AgentError): void {
    const queued = this.#queue.splice(0);
    for (const r of queued) r.reject(err);
  }

  #setHealth(connected: boolean, reason: AgentReason, message: string): void {
    this.#health = { connected, reason, message };
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function describeError(e: unknown): string {
  const o = (typeof e === "object" && e !== null ? e : {}) as { class?: unknown; desc?: unknown };
  return `${snippet(String(o.class ?? "Error"))}: ${snippet(String(o.desc ?? ""))}`;
}

/** At most 200 characters of guest text, for messages. */
export function snippet(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
