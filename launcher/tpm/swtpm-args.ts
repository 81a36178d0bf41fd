/** The swtpm command line for a VM's TPM (pure). */
import type { LauncherConfig } from "../../crds/launcher/config.ts";

/** The swtpm binary: $VIREO_SWTPM when set, else swtpm from PATH (Debian's swtpm package). */
export const SWTPM_BINARY = process.env.VIREO_SWTPM ?? "swtpm";

/** Where swtpm keeps its state and listens. */
export interface SwtpmPlan {
  /** Holds tpm2-00.permall (seeds, NV indices, persistent objects). */
  stateDir: string;
  /** The control socket QEMU's `emulator` TPM backend connects to. */
  ctrlSocket: string;
}

/** A TPM setting swtpm cannot be given (its option parser splits on commas, with no escape). */
export class SwtpmArgsError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "SWTPM_ARGS_INVALID";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "SwtpmArgsError";
  }
}

/** The plan for `config.tpm`, or undefined when the VM has no TPM. */
export function swtpmPlan(config: Pick<LauncherConfig, "tpm">, ctrlSocket: string): SwtpmPlan | undefined {
  return config.tpm ? { stateDir: config.tpm.stateDir, ctrlSocket } : undefined;
}

/**
 * `swtpm socket` arguments: TPM 2.0, state and socket readable by the launcher's uid only, and `--terminate`
 * so swtpm ends when QEMU closes the socket (QEMU sends the TPM's init itself, so no `--flags`). No `--log`:
 * swtpm prints its errors to stderr without one, where the launcher reads them (0.7.1 exits 1 at once on
 * `--log fd=2`).
 */
export function swtpmArgs(plan: SwtpmPlan): string[] {
  for (const [path, value] of [
    ["tpm.stateDir", plan.stateDir],
    ["tpm.ctrlSocket", plan.ctrlSocket],
  ] as const)
    if (value.includes(","))
      throw new SwtpmArgsError(path, `swtpm cannot take a path with a comma: ${value}`);
  return [
    "socket",
    "--tpm2",
    "--tpmstate",
    `dir=${plan.stateDir},mode=0600`,
    "--ctrl",
    `type=unixio,path=${plan.ctrlSocket},mode=0600`,
    "--terminate",
  ];
}
