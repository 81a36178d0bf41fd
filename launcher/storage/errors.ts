/** Every way preparing a disk can fail; stable, for callers, logs and the pod's termination message. */
export type DiskErrorCode =
  /** A volume's mount (PVC, ConfigMap, Secret, cloud-init Secret) is not there. */
  | "MOUNT_MISSING"
  /** A read-only PVC holds no disk image, and a read-only volume cannot get one. */
  | "IMAGE_MISSING"
  /** The image is damaged: unreadable header, truncated, qcow2 corruptions or marked corrupt. */
  | "IMAGE_CORRUPT"
  /** Another process (a QEMU that outlived its launcher?) holds the image's write lock. */
  | "IMAGE_IN_USE"
  /** The image is neither raw nor qcow2. */
  | "UNSUPPORTED_FORMAT"
  /** The image names a backing or external data file; we never follow paths found in user data. */
  | "BACKING_FILE_NOT_ALLOWED"
  /** An existing image is larger than its filesystem can ever hold. */
  | "IMAGE_TOO_LARGE"
  /** There is not enough free space for a new image of the required size. */
  | "INSUFFICIENT_SPACE"
  /** A block-mode volume's device is absent or not a block device. */
  | "BLOCK_DEVICE_MISSING"
  /** A containerDisk holds no disk image where the operator put it. */
  | "BASE_IMAGE_MISSING"
  /** A containerDisk holds several disk images and names none of them. */
  | "AMBIGUOUS_BASE_IMAGE"
  /** A cloud-init Secret lacks the key that holds the data. */
  | "CLOUD_INIT_DATA_MISSING"
  /** `cache: none` was asked for, but the storage does not support O_DIRECT. */
  | "DIRECT_IO_UNSUPPORTED"
  /** The launcher may not read or write a volume's files (fsGroup, mode or a read-only mount). */
  | "PERMISSION_DENIED"
  /** qemu-img or xorrisofs failed in a way none of the above explains. */
  | "TOOL_FAILED";

/** Details carried by a {@link DiskError}. */
export interface DiskErrorDetails {
  /** The host path involved (mount, image, device). */
  path?: string;
  /** The underlying error (an errno error, a tool's failure). */
  cause?: unknown;
}

/**
 * A disk could not be prepared. Raised before QEMU starts and before any existing file is changed, so the
 * message is the whole story: which disk, what is wrong, where.
 */
export class DiskError extends Error {
  /** Stable machine-readable code. */
  readonly code: DiskErrorCode;
  /** The disk's name in the VM spec. */
  readonly disk: string;
  /** The host path involved, when there is one. */
  readonly path: string | undefined;

  constructor(code: DiskErrorCode, disk: string, message: string, details: DiskErrorDetails = {}) {
    super(`disk "${disk}": ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "DiskError";
    this.code = code;
    this.disk = disk;
    this.path = details.path;
  }
}
