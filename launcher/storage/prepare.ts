import type { LauncherConfig, LauncherDisk } from "../../crds/launcher/config.ts";
import type { PreparedDisk } from "../prepared.ts";
import type { StorageDeps } from "./deps.ts";
import { DiskError } from "./errors.ts";
import type { DiskEnv, DiskKind, DiskOptions } from "./kind.ts";
import { cloudInitKind } from "./kinds/cloud-init.ts";
import { configVolume } from "./kinds/config-volume.ts";
import { containerDisk } from "./kinds/container-disk.ts";
import { emptyDisk } from "./kinds/empty-disk.ts";
import { pvcBlock } from "./kinds/pvc-block.ts";
import { pvcFilesystem } from "./kinds/pvc-filesystem.ts";
import { ProgramError } from "./run.ts";

/** A planned disk, ready to apply. */
interface Step {
  disk: LauncherDisk;
  plan: { action: string; options: DiskOptions };
  apply(): Promise<PreparedDisk>;
}

/** Names the disk in any failure: errno errors from the filesystem, a tool that would not run. */
function asDiskError(disk: string, err: unknown): DiskError {
  if (err instanceof DiskError) return err;
  const e = err as NodeJS.ErrnoException;
  const path = typeof e?.path === "string" ? e.path : undefined;
  const details = { cause: err, ...(path ? { path } : {}) };
  if (e?.code === "EACCES" || e?.code === "EPERM" || e?.code === "EROFS")
    return new DiskError("PERMISSION_DENIED", disk, e.message, details);
  if (e?.code === "ENOSPC" || e?.code === "EDQUOT")
    return new DiskError("INSUFFICIENT_SPACE", disk, e.message, details);
  if (err instanceof ProgramError) return new DiskError("TOOL_FAILED", disk, err.message, details);
  return new DiskError("TOOL_FAILED", disk, (err as Error)?.message ?? String(err), details);
}

async function planWith<S, F, P extends { action: string; options: DiskOptions }>(
  kind: DiskKind<S, F, P>,
  disk: LauncherDisk,
  source: S,
  env: DiskEnv,
): Promise<Step> {
  const facts = await kind.inspect(disk, source, env);
  const plan = kind.plan(disk, source, facts, env.layout);
  return { disk, plan, apply: () => kind.apply(disk, plan, env) };
}

function planDisk(disk: LauncherDisk, env: DiskEnv): Promise<Step> {
  const s = disk.source;
  switch (s.kind) {
    case "pvcFilesystem":
      return planWith(pvcFilesystem, disk, s, env);
    case "pvcBlock":
      return planWith(pvcBlock, disk, s, env);
    case "containerDisk":
      return planWith(containerDisk, disk, s, env);
    case "emptyDisk":
      return planWith(emptyDisk, disk, s, env);
    case "cloudInit":
      return planWith(cloudInitKind(env.config), disk, s, env);
    case "configMap":
    case "secret":
      return planWith(configVolume, disk, s, env);
  }
}

/**
 * Makes every disk of the VM ready for QEMU, in config order. Idempotent across launcher restarts: claims keep
 * their images (created once, grown when the claim grew, never shrunk or overwritten); overlays, empty disks
 * and ISOs in the state directory are made afresh.
 *
 * Every disk is inspected and planned before any is touched, so a missing mount, a corrupt image or too
 * little space throws a {@link DiskError} naming the disk with nothing written.
 */
export async function prepareDisks(config: LauncherConfig, deps: StorageDeps): Promise<PreparedDisk[]> {
  const env: DiskEnv = { config, deps, layout: { disksDir: `${config.paths.stateDir}/disks` } };
  // The launcher's own (ephemeral) directory; creating it changes nothing that exists.
  await deps.fs.mkdirp(env.layout.disksDir);

  const steps: Step[] = [];
  for (const disk of config.disks) {
    try {
      steps.push(await planDisk(disk, env));
    } catch (err) {
      throw asDiskError(disk.name, err);
    }
  }

  const prepared: PreparedDisk[] = [];
  for (const { disk, plan, apply } of steps) {
    const { cache, aio, probedPath } = plan.options;
    if (plan.options.fellBack)
      deps.log.warn(
        { disk: disk.name, path: probedPath, cache, aio },
        "the storage does not support O_DIRECT; falling back from cache=none/aio=native",
      );
    try {
      prepared.push(await apply());
    } catch (err) {
      throw asDiskError(disk.name, err);
    }
    deps.log.info({ disk: disk.name, kind: disk.source.kind, action: plan.action, cache, aio }, "disk ready");
  }
  return prepared;
}
