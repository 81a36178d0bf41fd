import { existsSync, readFileSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

/** The test guest's kernel and initramfs, as built by scripts/guest/build.sh. */
export interface GuestArtifacts {
  /** The versioned cache directory `current` points to. */
  dir: string;
  kernel: string;
  initramfs: string;
  manifest: GuestManifest;
}

const manifestSchema = z.object({
  key: z.string(),
  kernelPackage: z.string(),
  kernelVersion: z.string(),
  kernelRelease: z.string(),
  busyboxVersion: z.string(),
  modules: z.array(z.string()),
});

/** What build.sh records about a build (packages, versions, modules in load order). */
export type GuestManifest = z.infer<typeof manifestSchema>;

/** The test guest has not been built (or its cache is damaged). */
export class GuestArtifactsMissingError extends Error {
  readonly code = "GUEST_ARTIFACTS_MISSING";
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`test guest not found at ${path}; build it with: bash scripts/guest/build.sh`, options);
    this.name = "GuestArtifactsMissingError";
  }
}

/** The cache root build.sh uses: $VIREO_CACHE, else ~/.cache/vireo. */
export function vireoCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.VIREO_CACHE;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(env.HOME ?? homedir(), ".cache", "vireo");
}

/**
 * Paths of the cached test guest; throws GuestArtifactsMissingError when it is not built. `generic`: the build
 * with Debian's generic kernel (`VIREO_GUEST_FLAVOUR=generic scripts/guest/build.sh`: AHCI, e1000e, i6300esb).
 */
export function guestArtifacts(
  env: NodeJS.ProcessEnv = process.env,
  flavour: "cloud" | "generic" = "cloud",
): GuestArtifacts {
  const current = join(vireoCacheDir(env), flavour === "generic" ? "guest-generic" : "guest", "current");
  let dir: string;
  try {
    dir = realpathSync(current);
  } catch (cause) {
    throw new GuestArtifactsMissingError(current, { cause });
  }
  const kernel = join(dir, "vmlinuz");
  const initramfs = join(dir, "initramfs.cpio.gz");
  for (const file of [kernel, initramfs]) {
    if (!existsSync(file)) throw new GuestArtifactsMissingError(file);
  }
  const manifestPath = join(dir, "manifest.json");
  let manifest: GuestManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(readFileSync(manifestPath, "utf8")));
  } catch (cause) {
    throw new GuestArtifactsMissingError(manifestPath, { cause });
  }
  return { dir, kernel, initramfs, manifest };
}
