/** Preflight: which accelerator the VM gets, decided before anything is touched. */
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import {
  ACCEL_ENV,
  acceleratorOverride,
  chooseAccelerator,
  type AcceleratorChoice,
  type KvmProbe,
} from "../preflight/accel.ts";
import { probeKvm } from "../preflight/kvm-probe.ts";
import type { Logger } from "./logger.ts";
import { LauncherEnd } from "./outcome.ts";

/**
 * Starts preflight and returns a function that awaits its verdict. What the config and environment decide
 * alone is decided now (a bad VIREO_ACCEL ends the run before preparation). The KVM probe (a short-lived
 * paused QEMU asked over QMP, ~0.1 s) needs nothing that preparation makes, so it runs while disks and network
 * are made ready (measured with KVM: first QMP answer p50 371-376 -> 320-340 ms); if it then refuses the VM,
 * that is reported as a preflight failure even when preparation failed too.
 */
export function beginPreflight(
  config: LauncherConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
  probe: () => Promise<KvmProbe> = probeKvm,
): () => Promise<AcceleratorChoice> {
  let choice: Promise<AcceleratorChoice>;
  try {
    const override = acceleratorOverride(env[ACCEL_ENV]);
    if (override === "tcg")
      choice = Promise.resolve(chooseAccelerator(undefined, config.accelerator.allowEmulation, override));
    else {
      choice = (async () => {
        const probed = await probe();
        log.info({ probe: probed }, "KVM probe");
        return chooseAccelerator(probed, config.accelerator.allowEmulation, override);
      })();
      choice.catch(() => {}); // awaited by the caller
    }
  } catch (err) {
    throw new LauncherEnd({ kind: "preflight", error: err as Error });
  }
  return async () => {
    try {
      return await choice;
    } catch (err) {
      throw new LauncherEnd({ kind: "preflight", error: err as Error });
    }
  };
}
