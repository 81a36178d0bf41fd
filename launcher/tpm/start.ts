/** Starting swtpm before QEMU: its state directory, the process, and waiting for its control socket. */
import { mkdir, rm, stat } from "node:fs/promises";
import { spawnQemu, type QemuProcess } from "../qemu/process.ts";
import { SWTPM_BINARY, swtpmArgs, type SwtpmPlan } from "./swtpm-args.ts";

/** swtpm could not be started or did not listen. */
export class SwtpmStartError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "SWTPM_START_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SwtpmStartError";
  }
}

/** How long swtpm gets to create its socket (it does so at once; the margin is for a loaded node). */
const LISTEN_TIMEOUT_MS = 30_000;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Starts swtpm for `plan` and resolves once its control socket exists. The state directory is made (mode
 * 0700) if missing and an existing state is reused as it is: that is what keeps the TPM's seeds, and so its
 * endorsement key, across restarts. A socket left by an earlier launcher in the same pod is removed first, so
 * its presence means this swtpm listens. The process is spawned like QEMU (killed with the launcher, stderr
 * tail kept), through the same helper.
 */
export async function startSwtpm(
  plan: SwtpmPlan,
  onStderrLine: (line: string) => void,
  binary = SWTPM_BINARY,
): Promise<QemuProcess> {
  const args = swtpmArgs(plan);
  await mkdir(plan.stateDir, { recursive: true, mode: 0o700 });
  await rm(plan.ctrlSocket, { force: true });
  let proc: QemuProcess;
  try {
    proc = await spawnQemu(args, { binary, onStderrLine });
  } catch (err) {
    throw new SwtpmStartError((err as Error).message, { cause: err });
  }
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  while (!(await exists(plan.ctrlSocket))) {
    if (proc.exit || Date.now() > deadline) {
      proc.kill("SIGKILL");
      const exit = await proc.exited;
      const how = proc.exit ? (exit.signal ?? `exit code ${exit.code}`) : "timeout";
      const tail = proc.stderrTail().slice(-8).join("\n");
      throw new SwtpmStartError(
        `swtpm did not listen on ${plan.ctrlSocket} (${how})${tail ? `: ${tail}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}
