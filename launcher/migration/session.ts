/**
 * One launcher's part in a migration, driven by the operator through the control socket: a target pod
 * (`-incoming defer`) may `listen` once; a source pod may `start` (again after a failure or cancel) and
 * `cancel`; both report `status`. Which command is allowed when is {@link admit}, pure.
 */
import { MIGRATION_ERRORS, MIGRATION_PORT, type MigrationRequest } from "../../crds/contract/migration.ts";
import { incomingUri, type MigrationTuning } from "./plan.ts";
import type { MigrationProgressView, SourceOutcome } from "./progress.ts";
import { migrateSource } from "./source.ts";
import { listenIncoming, type TargetOutcome, type TargetQmp } from "./target.ts";

/** Where this launcher's migration stands. */
export type SessionState = "idle" | "listening" | "running" | "succeeded" | "failed" | "cancelled";

/** What `status` reports (and the operator copies into the VirtualMachineMigration). */
export interface MigrationSessionStatus {
  role: "source" | "target";
  state: SessionState;
  uri?: string;
  startedAtMs?: number;
  endedAtMs?: number;
  progress?: MigrationProgressView;
  reason?: string;
  message?: string;
}

/** The session's commands. */
export type SessionCommand = "listen" | "start" | "cancel";

/** A command refused, with a stable code. */
export class MigrationRefused extends Error {
  constructor(
    readonly code: (typeof MIGRATION_ERRORS)[keyof typeof MIGRATION_ERRORS],
    message: string,
  ) {
    super(message);
    this.name = "MigrationRefused";
  }
}

/** Whether `command` may run now; returns the refusal or undefined. Pure. */
export function admit(s: MigrationSessionStatus, command: SessionCommand): MigrationRefused | undefined {
  if (command === "listen") {
    if (s.role !== "target")
      return new MigrationRefused(MIGRATION_ERRORS.NOT_A_TARGET, "this launcher runs a guest");
    if (s.state !== "idle") return new MigrationRefused(MIGRATION_ERRORS.BUSY, `already ${s.state}`);
    return undefined;
  }
  if (s.role !== "source")
    return new MigrationRefused(
      MIGRATION_ERRORS.NOT_A_SOURCE,
      "this launcher waits for an incoming migration",
    );
  if (command === "start")
    return s.state === "running" || s.state === "succeeded"
      ? new MigrationRefused(MIGRATION_ERRORS.BUSY, `migration ${s.state}`)
      : undefined;
  return s.state === "running"
    ? undefined
    : new MigrationRefused(MIGRATION_ERRORS.NOT_MIGRATING, "no migration runs");
}

/** What the session needs from the launcher. */
export interface SessionDeps {
  role: "source" | "target";
  qmp: TargetQmp;
  guestMemoryBytes: number;
  /** Target: resume the guest after the stream completed (the supervisor's reducer sends `cont`). */
  resume: () => Promise<void>;
  /** Source: the guest now runs on the target (QEMU's last figures); the launcher quits QEMU and ends. */
  onMigratedOut: (last: MigrationProgressView | undefined) => void;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  now?: () => number;
  /** The target's incoming timeout (default 1 h: the source's own deadline ends it first). */
  incomingTimeoutMs?: number;
}

/** Carries out one migrate-* control command (serve-step.ts routes them here). */
export async function migrationControl(
  session: MigrationSession,
  command: "migrate-listen" | "migrate-start" | "migrate-cancel" | "migrate-status",
  request: MigrationRequest | undefined,
): Promise<MigrationSessionStatus> {
  if (command === "migrate-status") return session.status;
  if (command === "migrate-cancel") return session.cancel();
  if (!request) throw new MigrationRefused(MIGRATION_ERRORS.NO_ADDRESS, `${command} needs migration.address`);
  if (command === "migrate-listen") return session.listen(request.address);
  return session.start(request.address, request.settings ?? {});
}

/** A launcher's migration state machine over QMP. */
export class MigrationSession {
  #d: SessionDeps;
  #status: MigrationSessionStatus;
  #abort: AbortController | undefined;

  constructor(deps: SessionDeps) {
    this.#d = deps;
    this.#status = { role: deps.role, state: "idle" };
  }

  /** The current status (a copy). */
  get status(): MigrationSessionStatus {
    return structuredClone(this.#status);
  }

  /** Target: listen on `address` (the pod IP) at the migration port. */
  async listen(address: string): Promise<MigrationSessionStatus> {
    this.#check("listen");
    const uri = incomingUri(address, MIGRATION_PORT);
    const now = this.#now();
    this.#status = { ...this.#status, state: "listening", uri, startedAtMs: now };
    const { completion } = await listenIncoming(this.#d.qmp, {
      uri,
      timeoutMs: this.#d.incomingTimeoutMs ?? 3_600_000,
      resume: this.#d.resume,
    });
    completion.then(
      (o) => this.#targetEnded(o),
      (err: Error) =>
        this.#targetEnded({
          result: "Failed",
          reason: "MIGRATION_FAILED",
          message: `resume: ${err.message}`,
        }),
    );
    this.#d.log.info({ uri }, "migration: listening for the incoming guest");
    return this.status;
  }

  /** Source: migrate the guest to the target listening at `address`; runs in the background. */
  start(address: string, tuning: MigrationTuning): MigrationSessionStatus {
    this.#check("start");
    const uri = incomingUri(address, MIGRATION_PORT);
    this.#abort = new AbortController();
    this.#status = { role: "source", state: "running", uri, startedAtMs: this.#now() };
    this.#d.log.info({ uri, tuning }, "migration: sending the guest");
    migrateSource(this.#d.qmp, {
      uri,
      tuning,
      guestMemoryBytes: this.#d.guestMemoryBytes,
      signal: this.#abort.signal,
      onProgress: (progress) => (this.#status = { ...this.#status, progress }),
    }).then(
      (r) => this.#sourceEnded(r.outcome),
      (err: Error) =>
        this.#sourceEnded({ result: "Failed", reason: "MIGRATION_FAILED", message: `QMP: ${err.message}` }),
    );
    return this.status;
  }

  /** Source: cancel the running migration (the guest keeps running here). */
  cancel(): MigrationSessionStatus {
    this.#check("cancel");
    this.#abort?.abort();
    return this.status;
  }

  #check(command: SessionCommand): void {
    const refusal = admit(this.#status, command);
    if (refusal) throw refusal;
  }

  #now(): number {
    return (this.#d.now ?? Date.now)();
  }

  #sourceEnded(o: SourceOutcome): void {
    const state = o.result === "Succeeded" ? "succeeded" : o.result === "Cancelled" ? "cancelled" : "failed";
    this.#status = { ...this.#status, state, endedAtMs: this.#now() };
    if (o.result === "Failed") Object.assign(this.#status, { reason: o.reason, message: o.message });
    this.#d.log[o.result === "Succeeded" ? "info" : "warn"]({ outcome: o }, `migration: ${state}`);
    if (o.result === "Succeeded") this.#d.onMigratedOut(this.#status.progress);
  }

  #targetEnded(o: TargetOutcome): void {
    this.#status = {
      ...this.#status,
      state: o.result === "Succeeded" ? "succeeded" : "failed",
      endedAtMs: this.#now(),
      ...(o.result === "Failed" ? { reason: o.reason, message: o.message } : {}),
    };
    this.#d.log[o.result === "Succeeded" ? "info" : "warn"]({ outcome: o }, "migration: incoming ended");
  }
}
