import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { runSockets, type PodPaths, type RunSockets } from "../../crds/contract/index.ts";
import { agentSocketPath } from "../../crds/contract/guest-agent.ts";

/** Sockets and files the launcher and QEMU share, all under the pod's run and state directories. */
export interface RuntimeFiles extends RunSockets {
  /** The per-VM copy of the UEFI variable store. */
  uefiVars: string;
  /** swtpm's control socket (QEMU connects; used only with a TPM). */
  tpmSocket: string;
  /** The guest agent channel (QEMU listens; launcher/agent connects). */
  agentSocket: string;
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
  return {
    ...runSockets(paths.runDir),
    uefiVars: varsFile ?? `${paths.stateDir}/uefi-vars.fd`,
    tpmSocket: `${paths.runDir}/swtpm.sock`,
    agentSocket: agentSocketPath(paths.runDir),
  };
}
