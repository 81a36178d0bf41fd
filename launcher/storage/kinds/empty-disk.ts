import type { LauncherDisk } from "../../../crds/launcher/config.ts";
import type { FileFacts, SpaceFacts } from "../deps.ts";
import { DiskError } from "../errors.ts";
import {
  optionsFor,
  preparedDisk,
  type DirectIoFact,
  type DiskEnv,
  type DiskKind,
  type DiskLayout,
  type DiskOptions,
  type SourceOf,
} from "../kind.ts";
import { alignUp, formatBytes } from "../../../crds/contract/disk-image.ts";

type Source = SourceOf<"emptyDisk">;

/** What inspecting the state directory found for an empty disk. */
export interface EmptyDiskFacts {
  space: SpaceFacts;
  /** The previous run's file, whose space comes back when it is replaced. */
  previous?: FileFacts;
  directIo: DirectIoFact;
}

/** Make a fresh sparse raw file. */
export interface EmptyDiskPlan {
  action: "create";
  path: string;
  sizeBytes: number;
  options: DiskOptions;
}

const pathOf = (layout: DiskLayout, name: string) => `${layout.disksDir}/${name}.empty.img`;

async function inspect(disk: LauncherDisk, _source: Source, env: DiskEnv): Promise<EmptyDiskFacts> {
  const { fs } = env.deps;
  const previous = await fs.stat(pathOf(env.layout, disk.name));
  return {
    space: await fs.space(env.layout.disksDir),
    ...(previous ? { previous } : {}),
    directIo: { path: env.layout.disksDir, supported: await fs.probeDirectIo(env.layout.disksDir) },
  };
}

/**
 * A fresh raw file of the requested size (rounded up to whole MiB), sparse, replacing the previous run's.
 * Refused when the state directory could not hold it once the guest filled it. Pure.
 */
export function planEmptyDisk(
  disk: Pick<LauncherDisk, "name" | "cache">,
  source: Source,
  facts: EmptyDiskFacts,
  layout: DiskLayout,
): EmptyDiskPlan {
  const path = pathOf(layout, disk.name);
  const sizeBytes = alignUp(source.capacityBytes);
  const free = facts.space.availableBytes + (facts.previous?.allocatedBytes ?? 0);
  // A filesystem that reports no size (statfs: 0 blocks, e.g. ramfs) sets no limit we could check.
  if (facts.space.totalBytes > 0 && sizeBytes > free)
    throw new DiskError(
      "INSUFFICIENT_SPACE",
      disk.name,
      `an emptyDisk of ${formatBytes(sizeBytes)} does not fit in ${layout.disksDir} (${formatBytes(free)} free)`,
      { path },
    );
  return { action: "create", path, sizeBytes, options: optionsFor(disk, facts.directIo) };
}

/** An emptyDisk: a blank disk that lasts until the VM restarts. */
export const emptyDisk: DiskKind<Source, EmptyDiskFacts, EmptyDiskPlan> = {
  inspect,
  plan: (disk, source, facts, layout) => planEmptyDisk(disk, source, facts, layout),
  async apply(disk, plan, env) {
    const { fs, log } = env.deps;
    await fs.remove(plan.path);
    await fs.createSparse(plan.path, plan.sizeBytes, 0o600);
    log.info({ disk: disk.name, path: plan.path, sizeBytes: plan.sizeBytes }, "created a fresh empty disk");
    return preparedDisk(disk, { path: plan.path, format: "raw" }, plan.options);
  },
};
