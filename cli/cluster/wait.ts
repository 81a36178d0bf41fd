/**
 * `vireo start|stop|restart --wait`: polls the VM (through VmClient) until judgeWait says done or failed, or the
 * deadline passes. Progress goes to stderr: on a terminal one line rewritten in place, else a line per change.
 */
import { ClusterCliError } from "./errors.ts";
import type { VmClient } from "./kube.ts";
import { judgeWait, type WaitGate, type WaitGoal } from "./wait-plan.ts";

/** Where progress goes (stderr in the CLI). */
export interface ProgressSink {
  isTTY: boolean;
  write(text: string): void;
}

/** Options of one wait; `sleep` and `now` are injectable. */
export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  progress: ProgressSink;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const GOAL_TEXT: Record<WaitGoal, string> = { running: "Running with a ready guest", stopped: "Stopped" };

function formatMs(ms: number): string {
  return ms > 0 && ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 100) / 10}s`;
}

/** Waits for `goal`; resolves with the final line, throws ClusterCliError WAIT_FAILED / WAIT_TIMEOUT. */
export async function waitFor(
  client: VmClient,
  namespace: string,
  name: string,
  goal: WaitGoal,
  gate: WaitGate,
  opts: WaitOptions,
): Promise<string> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const start = now();
  const out = opts.progress;
  let last = "";
  const show = (state: string) => {
    if (state === last) return;
    last = state;
    const line = `VM ${name}: ${state} (${formatMs(now() - start)})`;
    out.write(out.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const endLine = () => {
    if (out.isTTY && last !== "") out.write("\n");
  };
  for (;;) {
    const v = judgeWait(goal, await client.getVm(namespace, name), gate);
    if (v.kind === "done") {
      show(v.state);
      endLine();
      return `VM ${name} is ${GOAL_TEXT[goal]} after ${formatMs(now() - start)}`;
    }
    if (v.kind === "failed") {
      show(v.state);
      endLine();
      throw new ClusterCliError("WAIT_FAILED", `VM ${name} will not be ${GOAL_TEXT[goal]}: ${v.reason}`);
    }
    show(v.state);
    if (now() - start >= opts.timeoutMs) {
      endLine();
      throw new ClusterCliError(
        "WAIT_TIMEOUT",
        `timed out after ${formatMs(opts.timeoutMs)} waiting for VM ${name} to be ${GOAL_TEXT[goal]}; it is ${v.state}`,
      );
    }
    await sleep(Math.min(opts.intervalMs ?? 500, Math.max(0, opts.timeoutMs - (now() - start))));
  }
}
