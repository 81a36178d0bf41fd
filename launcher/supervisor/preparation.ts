import { copyFile, mkdir, rename, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PreparedDisk, PreparedNic, RunningService } from "../prepared.ts";
import type { FirmwareFiles } from "../qemu/firmware-files.ts";
import type { RuntimeFiles } from "../qemu/runtime-files.ts";
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

/**
 * The real preparation: launcher/storage and launcher/network, as in the pod. Loaded only for a VM that
 * has disks or NICs, which keeps them off the path to QEMU's start for the others.
 */
export const realPreparation: Preparation = {
  disks: async (config, logger) => {
    if (!config.disks.length) return [];
    const [{ prepareDisks }, { nodeStorageDeps }] = await Promise.all([
      import("../storage/prepare.ts"),
      import("../storage/node-deps.ts"),
    ]);
    return prepareDisks(config, nodeStorageDeps(logger));
  },
  network: async (config, logger) => {
    if (!config.interfaces.length) return { nics: [], services: [] };
    const [{ startNetwork }, { commandHost }] = await Promise.all([
      import("../network/start.ts"),
      import("../network/host.ts"),
    ]);
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
 * same pod, so boot entries the guest wrote survive a reboot of the VM — and across pods when it lives on the
 * VM's state claim (`boot.varsFile`). An existing store is never overwritten; a new one is copied beside it and
 * renamed into place, so a launcher killed mid-copy cannot leave a truncated store that later starts would keep.
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
  if (exists) return;
  await mkdir(dirname(files.uefiVars), { recursive: true, mode: 0o700 });
  const partial = `${files.uefiVars}.partial`;
  await copyFile(firmware.ovmfVarsTemplate, partial);
  await rename(partial, files.uefiVars);
}

/** What preparation made, or why it failed (reported after preflight's verdict, which takes precedence). */
export interface PreparationResult extends Prepared {
  error?: Error & { code?: string };
}

/**
 * Makes the directories, disks, network and UEFI variable store ready. A failure is returned, not thrown:
 * preflight runs meanwhile, and a refused accelerator is the failure to report even when preparation failed
 * too. Services it starts (DHCP, passt) are pushed onto `cleanups` at once.
 */
export async function prepareAll(
  config: LauncherConfig,
  preparation: Preparation,
  files: RuntimeFiles,
  firmware: FirmwareFiles,
  log: Logger,
  cleanups: (() => Promise<void> | void)[],
): Promise<PreparationResult> {
  const mark = (phase: string, data: Record<string, unknown>, msg: string) =>
    log.debug({ phase, sinceStartMs: Math.round(performance.now()), ...data }, msg);
  const result: PreparationResult = { disks: [], nics: [], services: [] };
  try {
    await makeDirectories(config);
    result.disks = await preparation.disks(config, log);
    mark("disks", { disks: result.disks.length }, "disks ready");
    const net = await preparation.network(config, log);
    mark("network", { nics: net.nics.length }, "network ready");
    result.nics = net.nics;
    result.services = net.services;
    cleanups.push(() => Promise.all(net.services.map((s) => s.stop())).then(() => {}));
    await prepareUefiVars(config, files, firmware);
  } catch (err) {
    result.error = err as Error & { code?: string };
  }
  return result;
}
