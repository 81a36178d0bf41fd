import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { vireoCacheDir } from "./artifacts.ts";

/** The build script; its README says what the image holds. */
export const DEBIAN_IMAGE_SCRIPT = fileURLToPath(
  new URL("../../scripts/guest-image/build.sh", import.meta.url),
);

const partitionSchema = z.object({
  number: z.int(),
  name: z.string(),
  startSector: z.int(),
  sizeBytes: z.int().optional(),
  fs: z.string().optional(),
  label: z.string().optional(),
  uuid: z.string().optional(),
});

const manifestSchema = z.object({
  key: z.string(),
  suite: z.string(),
  format: z.literal("qcow2"),
  virtualSizeBytes: z.int().positive(),
  fileBytes: z.int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  buildSeconds: z.int(),
  kernel: z.string(),
  partitionTable: z.object({ label: z.literal("gpt"), diskGuid: z.string() }),
  partitions: z.array(partitionSchema),
  efiFiles: z.array(z.string()),
  defaultUser: z.string(),
  packages: z.record(z.string(), z.string()),
});

/** What build.sh records beside the image: layout, identifiers, size, checksum, package versions. */
export type DebianImageManifest = z.infer<typeof manifestSchema>;

/** The cached Debian 12 cloud image (scripts/guest-image/build.sh). */
export interface DebianImage {
  /** The recipe's cache directory (`debian-image/<key>`). */
  dir: string;
  /** The bootable qcow2 disk (GPT, BIOS + UEFI boot loaders, ext4 root). Treat it as read-only: copy it. */
  disk: string;
  manifest: DebianImageManifest;
}

/** The image has not been built (or its cache is damaged). */
export class DebianImageMissingError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "DEBIAN_IMAGE_MISSING";
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`Debian image not found at ${path}; build it with: bash scripts/guest-image/build.sh`, options);
    this.name = "DebianImageMissingError";
  }
}

/** The cached image `debian-image/current` points to; throws DebianImageMissingError when there is none. */
export function debianImage(env: NodeJS.ProcessEnv = process.env): DebianImage {
  const current = join(vireoCacheDir(env), "debian-image", "current");
  let dir: string;
  try {
    dir = realpathSync(current);
  } catch (cause) {
    throw new DebianImageMissingError(current, { cause });
  }
  const disk = join(dir, "disk.qcow2");
  if (!existsSync(disk)) throw new DebianImageMissingError(disk);
  const manifestPath = join(dir, "manifest.json");
  let manifest: DebianImageManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(readFileSync(manifestPath, "utf8")));
  } catch (cause) {
    throw new DebianImageMissingError(manifestPath, { cause });
  }
  return { dir, disk, manifest };
}

/**
 * Runs build.sh (a no-op taking about a second when the recipe is cached; minutes, as root, when not) and
 * returns the image it built. For tests whose tier may build prerequisites itself.
 */
export function ensureDebianImage(env: NodeJS.ProcessEnv = process.env): DebianImage {
  execFileSync("bash", [DEBIAN_IMAGE_SCRIPT], { env, stdio: ["ignore", "ignore", "inherit"] });
  return debianImage(env);
}
