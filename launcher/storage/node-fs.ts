import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { dirname } from "node:path";
import type { FileFacts, StorageFs } from "./deps.ts";

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Makes a rename or a new file durable: the directory entry lives in the parent directory. */
async function syncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** The real filesystem, through node:fs. */
export function nodeFs(): StorageFs {
  return {
    async stat(path) {
      let s;
      try {
        s = await fsp.stat(path);
      } catch (err) {
        if (errno(err) === "ENOENT" || errno(err) === "ENOTDIR") return undefined;
        throw err;
      }
      const kind: FileFacts["kind"] = s.isFile()
        ? "file"
        : s.isDirectory()
          ? "directory"
          : s.isBlockDevice()
            ? "block"
            : "other";
      return { kind, sizeBytes: s.size, allocatedBytes: s.blocks * 512 };
    },

    async space(path) {
      const s = await fsp.statfs(path);
      return { totalBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
    },

    readDir: (path) => fsp.readdir(path),
    readFile: (path) => fsp.readFile(path),

    async mkdirp(path, mode = 0o700) {
      await fsp.mkdir(path, { recursive: true, mode });
    },

    async writeFile(path, data, mode) {
      const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      try {
        const fd = await fsp.open(tmp, "wx", mode);
        try {
          await fd.writeFile(data);
          await fd.sync();
        } finally {
          await fd.close();
        }
        await fsp.rename(tmp, path);
      } catch (err) {
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      await syncDir(dirname(path));
    },

    async readHead(path, bytes) {
      // O_NOFOLLOW is not wanted (claims may hold symlinks the kubelet made); O_NONBLOCK keeps a FIFO
      // planted where an image should be from hanging the launcher.
      const fd = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const buf = Buffer.alloc(bytes);
        const { bytesRead } = await fd.read(buf, 0, bytes, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await fd.close();
      }
    },

    async remove(path) {
      await fsp.rm(path, { recursive: true, force: true });
    },

    async createSparse(path, sizeBytes, mode) {
      // "wx" is O_CREAT|O_EXCL: if anything appeared at this path since we looked, we fail instead of
      // overwriting it.
      const fd = await fsp.open(path, "wx", mode);
      try {
        await fd.chmod(mode); // exactly `mode`, whatever the umask
        await fd.truncate(sizeBytes);
        await fd.sync();
      } catch (err) {
        await fd.close();
        await fsp.rm(path, { force: true });
        throw err;
      }
      await fd.close();
      await syncDir(dirname(path));
    },

    async grow(path, sizeBytes) {
      const fd = await fsp.open(path, constants.O_WRONLY);
      try {
        const { size } = await fd.stat();
        if (sizeBytes < size)
          throw new Error(`refusing to shrink ${path} from ${size} to ${sizeBytes} bytes`);
        await fd.truncate(sizeBytes);
        await fd.sync();
      } finally {
        await fd.close();
      }
    },

    async makeReadOnly(path) {
      try {
        const { mode } = await fsp.stat(path);
        await fsp.chmod(path, mode & 0o7555);
        return true;
      } catch {
        return false;
      }
    },

    async probeDirectIo(path) {
      const s = await fsp.stat(path);
      let probe: string | undefined;
      let flags = constants.O_RDONLY | constants.O_DIRECT;
      let target = path;
      if (s.isDirectory()) {
        probe = `${path}/.vireo-odirect-probe-${process.pid}-${randomBytes(4).toString("hex")}`;
        flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_DIRECT;
        target = probe;
      }
      try {
        const fd = await fsp.open(target, flags, 0o600);
        await fd.close();
        return true;
      } catch (err) {
        // EINVAL is the kernel's answer for a filesystem without O_DIRECT (ramfs, older tmpfs, some FUSE).
        if (errno(err) === "EINVAL") return false;
        throw err;
      } finally {
        if (probe) await fsp.rm(probe, { force: true });
      }
    },
  };
}
