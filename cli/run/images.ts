import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Standalone mode has no registry: an image name resolves to a local directory that stands for the image's
 * root filesystem. `vireo.dev/test-guest` is built in and maps to the test guest that
 * scripts/guest/build.sh caches (`/boot/vmlinuz`, `/boot/initramfs.cpio.gz`, alias `/boot/initrd`); any
 * other `host/name:tag` maps to `$VIREO_IMAGES/host/name/tag/` (default `~/.cache/vireo/images`, tag
 * `latest` when none is given), e.g. a containerDisk at `…/tag/disk/disk.qcow2`.
 */
export const TEST_GUEST_IMAGE = "vireo.dev/test-guest";

/** An image name standalone mode cannot resolve, or a path not in the image. */
export class ImageNotFoundError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "IMAGE_NOT_FOUND";
  constructor(message: string) {
    super(message);
    this.name = "ImageNotFoundError";
  }
}

/** Where images and the test guest live on this host. */
export interface ImageDirs {
  /** Local image roots (`$VIREO_IMAGES`). */
  images: string;
  /** The vireo cache (`$VIREO_CACHE`), which holds guest/current from scripts/guest/build.sh. */
  cache: string;
}

/** The directories from the environment. */
export function imageDirs(env: NodeJS.ProcessEnv = process.env): ImageDirs {
  const cache = env.VIREO_CACHE || join(env.HOME ?? homedir(), ".cache", "vireo");
  return { cache, images: env.VIREO_IMAGES || join(cache, "images") };
}

/** Splits `host/name:tag` (a digest counts as a tag); pure. */
export function parseImageName(image: string): { repository: string; tag: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at + 1).replace(":", "-") };
  const colon = image.lastIndexOf(":");
  if (colon > image.lastIndexOf("/"))
    return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: "latest" };
}

/** The host path of `pathInImage` inside `image` (a file or directory that exists). */
export function resolveImagePath(image: string, pathInImage: string, dirs: ImageDirs = imageDirs()): string {
  const { repository, tag } = parseImageName(image);
  let path: string | undefined;
  if (repository === TEST_GUEST_IMAGE) {
    const guest = join(dirs.cache, "guest", "current");
    const files: Record<string, string> = {
      "/": guest,
      "/boot/vmlinuz": join(guest, "vmlinuz"),
      "/boot/initramfs.cpio.gz": join(guest, "initramfs.cpio.gz"),
      "/boot/initrd": join(guest, "initramfs.cpio.gz"),
    };
    path = files[pathInImage];
    if (!path)
      throw new ImageNotFoundError(
        `${image} holds only ${Object.keys(files)
          .filter((f) => f !== "/")
          .join(", ")}`,
      );
    if (!existsSync(path))
      throw new ImageNotFoundError(
        `${image}: the test guest is not built (${path}); run scripts/guest/build.sh`,
      );
    return path;
  }
  const root = join(dirs.images, repository, tag);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new ImageNotFoundError(`image ${image} is not in ${dirs.images} (expected the directory ${root})`);
  path = join(root, pathInImage);
  if (!existsSync(path)) throw new ImageNotFoundError(`${pathInImage} is not in image ${image} (${root})`);
  return path;
}
