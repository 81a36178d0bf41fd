import { dirname } from "node:path";
import type { LauncherDisk } from "../../crds/launcher/config.ts";
import type { PreparedDisk } from "../prepared.ts";
import { preparedDisk, type DiskEnv, type DiskOptions } from "./kind.ts";

/** A file to put on an ISO: a path relative to the ISO's root, and its exact bytes. */
export interface IsoFile {
  path: string;
  data: string | Buffer;
}

/** An ISO is a CD-ROM where the bus has one (SCSI, SATA); virtio-blk only knows disks. */
export function isoMedia(bus: LauncherDisk["bus"]): NonNullable<PreparedDisk["media"]> {
  return bus === "virtio" ? "disk" : "cdrom";
}

/**
 * Writes `files` into a private staging directory and makes an ISO of them at `isoPath`, replacing the
 * previous run's. The staging directory and files are 0700/0600: user-data and Secrets hold credentials.
 */
export async function writeIso(
  env: DiskEnv,
  isoPath: string,
  label: string,
  files: readonly IsoFile[],
): Promise<void> {
  const { fs, iso } = env.deps;
  const staging = `${isoPath}.d`;
  await fs.remove(staging);
  await fs.remove(isoPath);
  await fs.mkdirp(staging);
  try {
    for (const f of files) {
      await fs.mkdirp(dirname(`${staging}/${f.path}`));
      await fs.writeFile(`${staging}/${f.path}`, f.data, 0o600);
    }
    await iso.build(isoPath, staging, label);
  } finally {
    await fs.remove(staging);
  }
}

/** Writes a planned ISO and presents it read-only: the shared tail of the cloud-init and config-volume kinds. */
export async function applyIsoDisk(
  disk: LauncherDisk,
  plan: { path: string; files: readonly IsoFile[]; options: DiskOptions },
  env: DiskEnv,
  label: string,
): Promise<PreparedDisk> {
  await writeIso(env, plan.path, label, plan.files);
  return preparedDisk(
    { ...disk, readOnly: true },
    { path: plan.path, format: "raw", media: isoMedia(disk.bus) },
    plan.options,
  );
}
