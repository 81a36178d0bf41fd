import type { LauncherDisk } from "../../crds/launcher/config.ts";
import type { PreparedDisk } from "../prepared.ts";
import { DiskError } from "./errors.ts";

/** The host cache and AIO settings chosen for one disk. */
export interface CacheChoice {
  cache: PreparedDisk["cache"];
  aio: PreparedDisk["aio"];
  /** True when the default (`none`) was impossible and we fell back: worth a log line. */
  fellBack: boolean;
}

/**
 * Chooses cache and AIO for a disk whose storage does (or does not) support O_DIRECT.
 *
 * `cache=none` bypasses the host page cache (O_DIRECT): no double caching in a memory-limited pod, and a
 * guest flush reaches the storage. It needs O_DIRECT, which some filesystems lack (ramfs, tmpfs before
 * Linux 6.6, some FUSE), and native AIO needs it too. Where it is missing, `writethrough` is the safe
 * default: every write is on storage before the guest hears it finished. An explicit `cache: none` that
 * cannot be honoured is an error, not a silent change.
 */
export function chooseCache(
  disk: Pick<LauncherDisk, "name" | "cache">,
  directIo: boolean,
  probedPath: string,
): CacheChoice {
  switch (disk.cache) {
    case undefined:
      return directIo
        ? { cache: "none", aio: "native", fellBack: false }
        : { cache: "writethrough", aio: "threads", fellBack: true };
    case "none":
      if (!directIo)
        throw new DiskError(
          "DIRECT_IO_UNSUPPORTED",
          disk.name,
          `cache: none needs O_DIRECT, which the storage at ${probedPath} does not support; ` +
            "omit cache (to fall back to writethrough) or choose writethrough or writeback",
          { path: probedPath },
        );
      return { cache: "none", aio: "native", fellBack: false };
    default:
      // Native AIO without O_DIRECT blocks in io_submit; QEMU refuses the combination.
      return { cache: disk.cache, aio: "threads", fellBack: false };
  }
}
