import type { PreparedDisk } from "../../prepared.ts";
import { QemuArgsError } from "../errors.ts";
import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/** q35's built-in AHCI controller has six ports (ide.0 … ide.5). */
const AHCI_PORTS = 6;
/** The virtio-scsi controller all SCSI disks share. */
const SCSI_CONTROLLER = "scsi0";

/** QEMU block node of disk `i` (node names are limited to 31 characters, so they go by index). */
export const driveNode = (i: number) => `drive${i}`;
/** QEMU device id of a disk, stable by name: metrics and QMP queries find the disk under it. */
export const diskDeviceId = (name: string) => `disk-${name}`;

function check(d: PreparedDisk, i: number, machine: "q35" | "microvm"): void {
  const at = `disks[${i}]`;
  if (d.aio === "native" && d.cache !== "none")
    throw new QemuArgsError(`${at}.aio`, `aio=native needs cache=none (O_DIRECT), got cache=${d.cache}`);
  const media = d.media ?? "disk";
  if (d.bus === "virtio" && media === "cdrom")
    throw new QemuArgsError(`${at}.media`, "a CD-ROM needs the sata or scsi bus, not virtio");
  if (d.bus === "sata" && media === "disk" && d.readOnly)
    throw new QemuArgsError(
      `${at}.readOnly`,
      "QEMU cannot attach a read-only SATA hard disk; use virtio or scsi",
    );
  if (d.bus === "sata" && machine === "microvm")
    throw new QemuArgsError(`${at}.bus`, "microvm has no SATA controller; use virtio or scsi");
}

/** The two block nodes of a disk: the protocol node (file or block device) and the format node on top. */
function blockdevs(d: PreparedDisk, i: number): string[] {
  const common = {
    "read-only": d.readOnly,
    "cache.direct": d.cache === "none",
    discard: d.discard ? "unmap" : "ignore",
  };
  return [
    "-blockdev",
    opts(`driver=${d.driver}`, {
      filename: d.path,
      "node-name": `${driveNode(i)}-file`,
      aio: d.aio,
      ...common,
    }),
    "-blockdev",
    opts(`driver=${d.format}`, { "node-name": driveNode(i), file: `${driveNode(i)}-file`, ...common }),
  ];
}

function frontend(d: PreparedDisk, i: number, sataPort: number, scsiId: number): string {
  const cdrom = (d.media ?? "disk") === "cdrom";
  const fields = {
    drive: driveNode(i),
    id: diskDeviceId(d.name),
    serial: d.serial,
    bootindex: d.bootOrder,
    // writethrough: the guest sees no volatile cache, so every write is stable when it completes.
    "write-cache": cdrom ? undefined : d.cache !== "writethrough",
  };
  switch (d.bus) {
    case "virtio":
      return opts("virtio-blk-pci", fields);
    case "scsi":
      return opts(cdrom ? "scsi-cd" : "scsi-hd", {
        bus: `${SCSI_CONTROLLER}.0`,
        "scsi-id": scsiId,
        lun: 0,
        ...fields,
      });
    case "sata":
      return opts(cdrom ? "ide-cd" : "ide-hd", { bus: `ide.${sataPort}`, ...fields });
  }
}

/** Disks in the order prepared, each on its bus; a virtio-scsi controller when any disk needs one. */
export const diskArgs: DeviceArgs = ({ config, inputs }) => {
  const disks = inputs.disks;
  disks.forEach((d, i) => check(d, i, config.machine));
  const sata = disks.filter((d) => d.bus === "sata").length;
  if (sata > AHCI_PORTS)
    throw new QemuArgsError(
      "disks",
      `at most ${AHCI_PORTS} SATA disks fit on the AHCI controller, got ${sata}`,
    );
  const args: string[] = [];
  if (disks.some((d) => d.bus === "scsi")) args.push("-device", `virtio-scsi-pci,id=${SCSI_CONTROLLER}`);
  let sataPort = 0;
  let scsiId = 0;
  disks.forEach((d, i) => {
    args.push(...blockdevs(d, i), "-device", frontend(d, i, sataPort, scsiId));
    if (d.bus === "sata") sataPort++;
    if (d.bus === "scsi") scsiId++;
  });
  return args;
};
