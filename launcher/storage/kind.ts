import type { LauncherConfig, LauncherDisk } from "../../crds/launcher/config.ts";
import type { PreparedDisk } from "../prepared.ts";
import { chooseCache, type CacheChoice } from "./cache-policy.ts";
import type { StorageDeps } from "./deps.ts";

/** The `source` of a disk of one kind. */
export type SourceOf<K extends LauncherDisk["source"]["kind"]> = Extract<LauncherDisk["source"], { kind: K }>;

/** Where the launcher keeps the disks it makes (overlays, empty disks, ISOs): `${stateDir}/disks`. */
export interface DiskLayout {
  disksDir: string;
}

/** What the side-effecting steps get: the config, the deps and the layout. */
export interface DiskEnv {
  config: LauncherConfig;
  deps: StorageDeps;
  layout: DiskLayout;
}

/** Whether the storage under a path supports O_DIRECT, and which path was probed (for the log and errors). */
export interface DirectIoFact {
  path: string;
  supported: boolean;
}

/** The guest-facing options every plan carries, decided once from the disk and the probe. */
export interface DiskOptions extends CacheChoice {
  probedPath: string;
}

/**
 * One volume kind, in three steps with the same shape for every kind:
 * - `inspect` reads the world (stat, statfs, qemu-img info/check, the O_DIRECT probe) and changes nothing;
 * - `plan` is pure: facts in, an action out, or a {@link DiskError};
 * - `apply` carries the action out and returns the disk for the QEMU argv builder.
 * `prepareDisks` inspects and plans every disk before it applies any, so a bad disk stops the launch before
 * anything is written.
 */
export interface DiskKind<S, F, P extends { options: DiskOptions }> {
  inspect(disk: LauncherDisk, source: S, env: DiskEnv): Promise<F>;
  plan(disk: LauncherDisk, source: S, facts: F, layout: DiskLayout): P;
  apply(disk: LauncherDisk, plan: P, env: DiskEnv): Promise<PreparedDisk>;
}

/** The cache/AIO choice for a disk given its O_DIRECT probe. Throws DiskError for an impossible `cache: none`. */
export function optionsFor(disk: Pick<LauncherDisk, "name" | "cache">, probe: DirectIoFact): DiskOptions {
  return { ...chooseCache(disk, probe.supported, probe.path), probedPath: probe.path };
}

/** Assembles the hand-off for the argv builder from the disk, where it lives and the chosen options. */
export function preparedDisk(
  disk: LauncherDisk,
  at: {
    path: string;
    format: PreparedDisk["format"];
    driver?: PreparedDisk["driver"];
    media?: PreparedDisk["media"];
  },
  options: DiskOptions,
): PreparedDisk {
  return {
    name: disk.name,
    path: at.path,
    format: at.format,
    driver: at.driver ?? "file",
    bus: disk.bus,
    readOnly: disk.readOnly,
    serial: disk.serial,
    cache: options.cache,
    aio: options.aio,
    // Discards from a read-only disk cannot happen; from a writable one they keep thin images thin.
    discard: !disk.readOnly,
    media: at.media ?? "disk",
    ...(disk.bootOrder !== undefined ? { bootOrder: disk.bootOrder } : {}),
  };
}
