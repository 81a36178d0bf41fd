/** The TPM step: swtpm runs before QEMU starts, since QEMU connects to it while parsing its command line. */
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { LogLimiter } from "../limits/log-limit.ts";
import type { RuntimeFiles } from "../qemu/runtime-files.ts";
import { startSwtpm } from "../tpm/start.ts";
import { swtpmPlan } from "../tpm/swtpm-args.ts";
import type { Logger } from "./logger.ts";
import { LauncherEnd } from "./outcome.ts";

/**
 * Starts swtpm when the VM has a TPM; its stop is pushed onto `cleanups` at once. It ends by itself when QEMU
 * closes the socket (`--terminate`); failing before that is logged as an error, since the guest's TPM then
 * fails. A failure to start ends the run as a preparation failure.
 */
export async function startTpm(
  config: LauncherConfig,
  files: RuntimeFiles,
  log: Logger,
  guestDriven: LogLimiter,
  cleanups: (() => Promise<void> | void)[],
): Promise<void> {
  const plan = swtpmPlan(config, files.tpmSocket);
  if (!plan) return;
  let running = true;
  try {
    const swtpm = await startSwtpm(plan, (line) =>
      guestDriven.log("warn", "swtpm-stderr", { stderr: line }, "swtpm stderr"),
    );
    log.info(
      { phase: "tpm", pid: swtpm.pid, stateDir: plan.stateDir, persistent: config.tpm?.persistent },
      "swtpm started",
    );
    void swtpm.exited.then((exit) => {
      // After QEMU closes the socket swtpm ends by itself with 0 (--terminate); anything else is a failure.
      if (running && exit.code !== 0)
        log.error({ exit, stderr: swtpm.stderrTail().slice(-8) }, "swtpm exited while the VM ran");
    });
    cleanups.push(async () => {
      running = false;
      swtpm.kill("SIGTERM");
      await swtpm.exited;
    });
  } catch (err) {
    throw new LauncherEnd({ kind: "prepare", error: err as Error & { code?: string } });
  }
}
