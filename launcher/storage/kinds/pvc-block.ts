import type { LauncherDisk } from "../../../crds/launcher/config.ts";
import type { FileFacts } from "../deps.ts";
import { DiskError } from "../errors.ts";
import {
  optionsFor,
  preparedDisk,
  type DirectIoFact,
  type DiskEnv,
  type DiskKind,
  type DiskOptions,
  type SourceOf,
} from "../kind.ts";

type Source = SourceOf<"pvcBlock">;

/** What inspecting a Block-mode claim found. */
export interface PvcBlockFacts {
  device?: FileFacts;
  directIo?: DirectIoFact;
}

/** A Block-mode claim is used as it is: the device is the disk. */
export interface PvcBlockPlan {
  action: "use";
  path: string;
  options: DiskOptions;
}

async function inspect(_disk: LauncherDisk, source: Source, env: DiskEnv): Promise<PvcBlockFacts> {
  const device = await env.deps.fs.stat(source.devicePath);
  if (device?.kind !== "block") return device ? { device } : {};
  return {
    device,
    directIo: { path: source.devicePath, supported: await env.deps.fs.probeDirectIo(source.devicePath) },
  };
}

/** Uses the device, or refuses when it is absent or not a block device. Pure. */
export function planPvcBlock(
  disk: Pick<LauncherDisk, "name" | "cache">,
  source: Source,
  facts: PvcBlockFacts,
): PvcBlockPlan {
  const path = source.devicePath;
  if (!facts.device)
    throw new DiskError(
      "BLOCK_DEVICE_MISSING",
      disk.name,
      `the block device of claim "${source.claimName}" is not at ${path}`,
      { path },
    );
  if (facts.device.kind !== "block")
    throw new DiskError(
      "BLOCK_DEVICE_MISSING",
      disk.name,
      `${path} (claim "${source.claimName}") is a ${facts.device.kind}, not a block device`,
      { path },
    );
  return { action: "use", path, options: optionsFor(disk, facts.directIo!) };
}

/** A Block-mode PersistentVolumeClaim: the raw device, passed through (`host_device`). */
export const pvcBlock: DiskKind<Source, PvcBlockFacts, PvcBlockPlan> = {
  inspect,
  plan: (disk, source, facts) => planPvcBlock(disk, source, facts),
  async apply(disk, plan) {
    return preparedDisk(disk, { path: plan.path, format: "raw", driver: "host_device" }, plan.options);
  },
};
