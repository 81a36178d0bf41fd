import { copyFile, mkdir, stat } from "node:fs/promises";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { commandHost } from "../network/host.ts";
import { startNetwork } from "../network/start.ts";
import type { PreparedDisk, PreparedNic, RunningService } from "../prepared.ts";
import type { FirmwareFiles } from "../qemu/firmware-files.ts";
import type { RuntimeFiles } from "../qemu/runtime-files.ts";
import { nodeStorageDeps } from "../storage/node-deps.ts";
import { prepareDisks } from "../storage/prepare.ts";
import type { Logger } from "./logger.ts";

/** Disks and network, resolved on the host before QEMU starts. */
export interface Prepared {
  disks: PreparedDisk[];
  nics: PreparedNic[];
  services: RunningService[];
}

/** The preparation steps; tests replace them to hand in prepared devices directly. */
export interface Preparation {
  disks(config: LauncherConfig, logger: Logger): Promise<PreparedDisk[]>;
  network(
    config: LauncherConfig,
    logger: Logger,
  ): Promise<{ nics: PreparedNic[]; services: RunningService[] }>;
}

/** The real preparation: launcher/storage and launcher/network, as in the pod. */
export const realPreparation: Preparation = {
  disks: (config, logger) =>
    config.disks.length ? prepareDisks(config, nodeStorageDeps(logger)) : Promise.resolve([]),
  network: async (config, logger) => {
    if (!config.interfaces.length) return { nics: [], services: [] };
    const { nics, services } = await startNetwork(config, { host: commandHost(), logger });
    return { nics, services };
  },
};

/** Creates the run and state directories (private to the launcher). */
export async function makeDirectories(config: LauncherConfig): Promise<void> {
  await mkdir(config.paths.runDir, { recursive: true, mode: 0o700 });
  await mkdir(config.paths.stateDir, { recursive: true, mode: 0o700 });
}

/**
 * The per-VM UEFI variable store: copied from the template once and kept across launcher restarts in the
 * same pod, so boot entries the guest wrote survive a reboot of the VM.
 */
export async function prepareUefiVars(
  config: LauncherConfig,
  files: RuntimeFiles,
  firmware: FirmwareFiles,
): Promise<void> {
  if (config.boot.kind !== "uefi") return;
  const exists = await stat(files.uefiVars).then(
    () => true,
    () => false,
  );
  if (!exists) await copyFile(firmware.ovmfVarsTemplate, files.uefiVars);
}
