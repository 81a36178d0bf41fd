/**
 * The hand-off between the launcher's preparation steps (storage, network) and the QEMU argv builder.
 * Preparation resolves everything host-side (files, taps, sockets); the argv builder only renders these
 * values, so it stays pure and golden-file tested.
 */

/** A disk ready to be attached: a file or block device with the options QEMU should open it with. */
export interface PreparedDisk {
  name: string;
  /** Host path QEMU opens (image file, block device, overlay, ISO). */
  path: string;
  format: "raw" | "qcow2";
  /** `file` for regular files, `host_device` for block devices. */
  driver: "file" | "host_device";
  bus: "virtio" | "scsi" | "sata";
  readOnly: boolean;
  serial: string;
  bootOrder?: number;
  /** Host cache mode actually used (after the O_DIRECT probe). */
  cache: "none" | "writethrough" | "writeback";
  /** AIO engine actually used: native needs O_DIRECT (cache=none). */
  aio: "native" | "threads" | "io_uring";
  /** Pass discards from the guest down to the image. */
  discard: boolean;
  /** Present as a CD-ROM (cloud-init ISO on SATA). */
  media?: "disk" | "cdrom";
}

/** How a NIC's backend reaches the host side. */
export type NicBackend =
  { kind: "tap"; ifname: string; vhost: boolean } | { kind: "passt"; socketPath: string } | { kind: "none" };

/** A NIC ready to be attached. */
export interface PreparedNic {
  name: string;
  mac: string;
  model: "virtio" | "e1000e" | "rtl8139";
  backend: NicBackend;
  /** Guest MTU (virtio-net `host_mtu`), from the pod interface. */
  mtu?: number;
  bootOrder?: number;
}

/** Something preparation started that must be stopped when the launcher exits (passt). */
export interface RunningService {
  name: string;
  pid?: number;
  stop(): Promise<void>;
}
