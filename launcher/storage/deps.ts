/**
 * The side effects disk preparation needs, behind small interfaces: the real ones (./node-fs.ts,
 * ./qemu-img.ts, ./iso.ts) in the launcher and the integration tests, fakes in unit tests.
 */

/** What `stat` tells us about a path (symlinks followed). */
export interface FileFacts {
  kind: "file" | "directory" | "block" | "other";
  /** Apparent size (st_size). */
  sizeBytes: number;
  /** Bytes actually allocated (st_blocks × 512); less than the size for a sparse file. */
  allocatedBytes: number;
}

/** Capacity of the filesystem holding a path (statfs). */
export interface SpaceFacts {
  totalBytes: number;
  /** Free bytes an unprivileged writer may use (f_bavail). */
  availableBytes: number;
}

/** Files and directories. Mutating calls are only ever made after every disk has been planned. */
export interface StorageFs {
  /** Facts about `path`, or undefined when it does not exist. */
  stat(path: string): Promise<FileFacts | undefined>;
  /** Capacity of the filesystem holding `path`. */
  space(path: string): Promise<SpaceFacts>;
  /** Entry names in a directory (no `.`/`..`). */
  readDir(path: string): Promise<string[]>;
  /** A file's bytes. */
  readFile(path: string): Promise<Buffer>;
  /** At most the first `bytes` bytes of a file (an image's header; never the whole image). */
  readHead(path: string, bytes: number): Promise<Buffer>;
  /** Creates a directory and its parents, private to the launcher (0700) unless `mode` says otherwise. */
  mkdirp(path: string, mode?: number): Promise<void>;
  /** Creates or replaces a file atomically (write to a temporary name, then rename). */
  writeFile(path: string, data: string | Buffer, mode: number): Promise<void>;
  /** Removes a file or directory tree; absent is fine. */
  remove(path: string): Promise<void>;
  /** Creates a new sparse file of `sizeBytes`; fails if anything exists at `path` (never overwrites). */
  createSparse(path: string, sizeBytes: number, mode: number): Promise<void>;
  /** Extends a raw file to `sizeBytes`; refuses to shrink. */
  grow(path: string, sizeBytes: number): Promise<void>;
  /** Removes write permission for everyone; false when that is not possible (read-only mount, not the owner). */
  makeReadOnly(path: string): Promise<boolean>;
  /**
   * Whether the storage at `path` supports O_DIRECT: an existing file or block device is opened read-only
   * with O_DIRECT; for a directory, a probe file is created in it and removed again.
   */
  probeDirectIo(path: string): Promise<boolean>;
}

/** What `qemu-img info` says about an image. */
export interface ImageInfo {
  /** As qemu-img names it: raw, qcow2, vmdk, … */
  format: string;
  virtualSizeBytes: number;
  /** A backing file named in the image header. */
  backingFile?: string;
  /** A qcow2 external data file. */
  dataFile?: string;
  /** qcow2's "corrupt" header bit, set by QEMU when it found an inconsistency. */
  markedCorrupt: boolean;
}

/** Outcome of `qemu-img info`: the facts, or why the image could not be opened. */
export type ImageInfoResult =
  { ok: true; info: ImageInfo } | { ok: false; reason: "locked" | "denied" | "unreadable"; message: string };

/** Outcome of `qemu-img check` (read-only; never repairs). */
export type ImageCheckResult =
  | { ok: true; leakedClusters: number }
  | { ok: false; corruptions: number; checkErrors: number; message: string };

/** Image inspection and creation (qemu-img). */
export interface ImageTool {
  /** Reads an image's header in the format given (qemu-img never probes). */
  info(path: string, format: "raw" | "qcow2"): Promise<ImageInfoResult>;
  /** Checks a qcow2 image's metadata for corruption. */
  check(path: string): Promise<ImageCheckResult>;
  /** Creates a qcow2 overlay on top of `base` (which qemu-img opens read-only). */
  createOverlay(overlay: string, base: string, baseFormat: "raw" | "qcow2"): Promise<void>;
  /** Grows a qcow2 image's virtual size. */
  resize(path: string, sizeBytes: number): Promise<void>;
}

/** ISO9660 images (xorrisofs). */
export interface IsoTool {
  /** Writes an ISO9660 image of every file in `sourceDir` (Joliet and Rock Ridge), labelled `label`. */
  build(output: string, sourceDir: string, label: string): Promise<void>;
}

/** The subset of a pino logger disk preparation uses. */
export interface StorageLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Everything `prepareDisks` touches outside itself. */
export interface StorageDeps {
  fs: StorageFs;
  images: ImageTool;
  iso: IsoTool;
  log: StorageLogger;
}
