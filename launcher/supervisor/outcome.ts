/**
 * How the launcher ends, in one place: every way the run can end is an {@link Ending}, and
 * {@link resultOf} alone turns it into the exit code and the termination message the operator reads
 * (crds/contract/exit.ts). Steps throw {@link LauncherEnd}; the supervisor catches it once.
 */
import { EXIT, type LauncherResult } from "../../crds/contract/index.ts";
import type { LauncherStatus, MigratedSummary, Outcome } from "./state.ts";

/** Every way a launcher run ends. */
export type Ending =
  /** The config did not validate (nothing was started). */
  | { kind: "config"; message: string }
  /** No usable accelerator, or the accelerator setting is wrong. */
  | { kind: "preflight"; error: Error }
  /** Disks, network or firmware files could not be prepared (nothing was started). */
  | { kind: "prepare"; error: Error & { code?: string } }
  /** The VM cannot be turned into a QEMU command line. */
  | { kind: "invalid-vm"; error: Error }
  /** QEMU did not start, or died before QMP answered; `message` carries its last stderr lines. */
  | { kind: "qemu-start"; message: string }
  /** The launcher could not serve the running VM (console, HTTP, control socket). */
  | { kind: "setup"; error: Error }
  /** A stop request came before QEMU ran the guest. */
  | { kind: "stopped-early"; signal: string }
  /** QEMU ran and exited; how the guest ended is the reducer's outcome. */
  | { kind: "vm-ended"; outcome: Outcome | undefined };

/** Thrown by a step to end the run. */
export class LauncherEnd extends Error {
  constructor(readonly ending: Ending) {
    super(resultOf(ending).message);
    this.name = "LauncherEnd";
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The exit code and termination message of an ending: the one place they are decided. */
export function resultOf(e: Ending): LauncherResult {
  switch (e.kind) {
    case "config":
      return { code: EXIT.CONFIG, message: e.message };
    case "preflight":
      return { code: EXIT.PREFLIGHT, message: `preflight: ${e.error.message}` };
    case "prepare":
      return {
        code: EXIT.PREPARE,
        message: `preparation failed${e.error.code ? ` (${e.error.code})` : ""}: ${e.error.message}`,
      };
    case "invalid-vm":
      return { code: EXIT.CONFIG, message: `invalid VM: ${e.error.message}` };
    case "qemu-start":
      return { code: EXIT.QEMU_DIED, message: e.message };
    case "setup":
      return { code: EXIT.INTERNAL, message: `launcher setup failed: ${e.error.message}` };
    case "stopped-early":
      return { code: EXIT.OK, message: `stopped by ${e.signal} before the VM started` };
    case "vm-ended":
      return vmEnded(e.outcome);
  }
}

function vmEnded(outcome: Outcome | undefined): LauncherResult {
  const o = outcome ?? { kind: "crash", reason: "QEMU exited without a recorded reason" };
  switch (o.kind) {
    case "poweroff":
      return { code: EXIT.OK, message: "poweroff: the guest powered off" };
    case "powerdown":
      return {
        code: EXIT.OK,
        message: `powerdown: the guest powered off ${secs(o.afterMs)} after the ACPI power button`,
      };
    case "quit":
      return {
        code: EXIT.OK,
        message: `quit: the guest did not power off within ${secs(o.afterMs)} of the stop request; QEMU was ${o.killed ? "killed" : "quit"}`,
      };
    case "panic":
      return { code: EXIT.GUEST_PANICKED, message: `guest panicked: ${o.info}` };
    case "watchdog":
      return {
        code: EXIT.WATCHDOG,
        message: `watchdog: the guest stopped petting its watchdog; action ${o.action}`,
      };
    case "crash":
      return { code: EXIT.QEMU_DIED, message: o.reason };
    case "migrated":
      return { code: EXIT.OK, message: migratedMessage(o.summary) };
  }
}

/**
 * `migrated: … downtime_ms=N transferred_bytes=N total_ms=N`: the source pod is gone once the operator looks,
 * so QEMU's figures travel in the termination message, as key=value words the operator parses.
 */
function migratedMessage(s: MigratedSummary): string {
  const figures = [
    ["downtime_ms", s.downtimeMs],
    ["transferred_bytes", s.transferredBytes],
    ["total_ms", s.totalTimeMs],
  ].filter(([, v]) => v !== undefined);
  const tail = figures.map(([k, v]) => `${k}=${v}`).join(" ");
  return `migrated: the guest runs in the migration's target pod${tail ? `; ${tail}` : ""}`;
}

/** The exit code and termination message for how the VM ended. */
export function finalResult(status: LauncherStatus): LauncherResult {
  return resultOf({ kind: "vm-ended", outcome: status.outcome });
}
