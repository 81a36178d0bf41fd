import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PodPaths } from "../../crds/launcher/paths.ts";

/** Sockets and files the launcher and QEMU share, all under the pod's run and state directories. */
export interface RuntimeFiles {
  /** QMP control socket (QEMU listens). */
  qmpSocket: string;
  /** QEMU's serial port; only the launcher connects here. */
  serialSocket: string;
  /** The launcher's console socket: `vireo-launcher console` and tests attach here. */
  consoleSocket: string;
  /** The launcher's control socket (pause, unpause, status, logs). */
  controlSocket: string;
  /** The per-VM copy of the UEFI variable store. */
  uefiVars: string;
}

/** The sockets in a run directory (what `kubectl exec … vireo-launcher console|pause` needs). */
export function runSockets(runDir: string): Omit<RuntimeFiles, "uefiVars"> {
  return {
    qmpSocket: `${runDir}/qmp.sock`,
    serialSocket: `${runDir}/serial.sock`,
    consoleSocket: `${runDir}/console.sock`,
    controlSocket: `${runDir}/control.sock`,
  };
}

/**
 * Where the runtime files live for a given pod layout (pure). The UEFI variable store is on the state claim
 * when the boot config names one (`boot.varsFile`), else in the pod's state directory.
 */
export function runtimeFiles(
  paths: Pick<PodPaths, "runDir" | "stateDir">,
  boot?: LauncherConfig["boot"],
): RuntimeFiles {
  const varsFile = boot?.kind === "uefi" ? boot.varsFile : undefined;
  return { ...runSockets(paths.runDir), uefiVars: varsFile ?? `${paths.stateDir}/uefi-vars.fd` };
}
