/**
 * The VM shapes whose QEMU argv is pinned by golden files (launcher/qemu/args.test.ts) and started by real
 * QEMU (test/integration/launcher-qemu-args.test.ts). Every shape is a function of a root directory so the
 * same shape renders with pod paths for the golden file and with a temp directory for the real run.
 */
import { launcherConfigSchema, type LauncherConfig } from "../../../crds/launcher/config.ts";
import { podPaths } from "../../../crds/contract/index.ts";
import type { PreparedDisk, PreparedNic } from "../../../launcher/prepared.ts";
import { firmwareFiles } from "../../../launcher/qemu/firmware-files.ts";
import type { QemuInputs } from "../../../launcher/qemu/inputs.ts";
import { runtimeFiles } from "../../../launcher/qemu/runtime-files.ts";

/** One pinned shape. */
export interface Shape {
  name: string;
  /** What the shape exercises (shown in test names). */
  about: string;
  config: LauncherConfig;
  inputs: QemuInputs;
}

/** Host resources a shape needs to really start (the integration test provides them). */
export interface ShapeHost {
  root: string;
  /** A block device for `host_device` disks (a loop device in the integration test). */
  blockDevice: string;
  /** Where the kernel boot files are. */
  kernel: string;
  initrd: string;
}

const MiB = 2 ** 20;

function baseConfig(root: string, patch: Partial<LauncherConfig> = {}): LauncherConfig {
  const config: LauncherConfig = {
    version: "v1",
    vm: { namespace: "prod", name: "web", uid: "6f1c1a8e-3b52-4f0e-9d57-2a8f0c4d9e11" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host-model" },
    memory: { guestBytes: 256 * MiB },
    boot: { kind: "bios" },
    disks: [],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: true, statsPollSeconds: 10 } },
    terminationGracePeriodSeconds: 30,
    paths: podPaths(root),
    http: { port: 9100 },
    ...patch,
  };
  // The shapes must be configs the operator could really write.
  return launcherConfigSchema.parse(config);
}

function inputs(config: LauncherConfig, patch: Partial<QemuInputs> = {}): QemuInputs {
  return {
    accel: "tcg",
    hostCpuQuirks: [],
    disks: [],
    nics: [],
    files: runtimeFiles(config.paths),
    firmware: firmwareFiles(config.boot.kind === "uefi" && config.boot.secureBoot),
    ...patch,
  };
}

const disk = (patch: Partial<PreparedDisk> & Pick<PreparedDisk, "name" | "path">): PreparedDisk => ({
  format: "raw",
  driver: "file",
  bus: "virtio",
  readOnly: false,
  serial: patch.name,
  cache: "none",
  aio: "native",
  discard: true,
  ...patch,
});

/** All pinned shapes for a host layout. In golden files the root is "" (the pod layout). */
export function shapes(host: ShapeHost): Shape[] {
  const r = host.root;
  const shape = (name: string, about: string, config: LauncherConfig, patch: Partial<QemuInputs> = {}): Shape => ({
    name,
    about,
    config,
    inputs: inputs(config, patch),
  });
  const kernelBoot = (cmdline: string): LauncherConfig["boot"] => ({
    kind: "kernel",
    kernelPath: host.kernel,
    initrdPath: host.initrd,
    cmdline,
  });
  const nics: PreparedNic[] = [
    {
      name: "default",
      mac: "02:a1:b2:c3:d4:e5",
      model: "virtio",
      backend: { kind: "tap", ifname: "tap0", vhost: true },
      mtu: 1450,
      bootOrder: 2,
    },
    { name: "backend", mac: "02:00:00:00:00:02", model: "virtio", backend: { kind: "passt", socketPath: `${r}/var/run/vireo/passt.sock` } },
    { name: "legacy", mac: "02:00:00:00:00:03", model: "e1000e", backend: { kind: "none" } },
    { name: "older", mac: "02:00:00:00:00:04", model: "rtl8139", backend: { kind: "tap", ifname: "tap1", vhost: false } },
  ];

  return [
    shape("bios-minimal", "SeaBIOS, one vCPU, default devices", baseConfig(r)),
    shape(
      "kernel-q35",
      "direct kernel boot on q35 with an initrd and command line",
      baseConfig(r, { boot: kernelBoot("console=ttyS0 panic=-1") }),
    ),
    shape(
      "kernel-microvm",
      "microvm with PCIe and ACPI for direct kernel boot",
      baseConfig(r, { machine: "microvm", boot: kernelBoot("console=ttyS0") }),
    ),
    shape("uefi", "OVMF with a per-VM variable store", baseConfig(r, { boot: { kind: "uefi", secureBoot: false } })),
    shape(
      "uefi-secureboot",
      "secure boot OVMF, Microsoft keys, SMM and the secure pflash",
      baseConfig(r, { boot: { kind: "uefi", secureBoot: true } }),
    ),
    shape(
      "topology-hugepages",
      "2 sockets × 2 cores × 2 threads, a named CPU model, 2Mi hugepages, no free page reporting",
      baseConfig(r, {
        cpu: { sockets: 2, cores: 2, threads: 2, model: "Skylake-Client" },
        memory: { guestBytes: 512 * MiB, hugepages: { pageSize: "2Mi", mountPath: `${r}/dev/hugepages-2Mi` } },
      }),
    ),
    shape(
      "dedicated-numa-hugepages",
      "dedicated CPUs with guest NUMA passthrough: one guest node per host node, its RAM on hugetlbfs bound there",
      baseConfig(r, {
        cpu: { sockets: 1, cores: 2, threads: 1, model: "max", dedicated: { isolateEmulatorThread: false, numaPassthrough: true } },
        memory: { guestBytes: 512 * MiB, hugepages: { pageSize: "2Mi", mountPath: `${r}/dev/hugepages-2Mi` } },
      }),
      { dedicated: { plan: { vcpuCpus: [0, 1], emulatorCpus: [0, 1] }, numa: [{ hostNode: 0, vcpus: [0, 1] }] } },
    ),
    shape(
      "kvm-host-passthrough",
      "KVM with the host CPU and the quirk preflight found",
      baseConfig(r, { cpu: { sockets: 1, cores: 2, threads: 1, model: "host-passthrough" } }),
      { accel: "kvm", hostCpuQuirks: ["-arch-capabilities"] },
    ),
    shape("virtio-disks", "virtio-blk: raw O_DIRECT, qcow2 writeback, read-only block device, boot order", baseConfig(r), {
      disks: [
        disk({ name: "root", path: `${r}/var/run/vireo/volumes/root/disk.img`, bootOrder: 1 }),
        disk({
          name: "scratch",
          path: `${r}/var/lib/vireo/scratch.qcow2`,
          format: "qcow2",
          cache: "writeback",
          aio: "threads",
          discard: false,
        }),
        disk({ name: "shared", path: host.blockDevice, driver: "host_device", readOnly: true, serial: "SHARED-01" }),
      ],
    }),
    shape("scsi-sata-disks", "virtio-scsi and AHCI disks, CD-ROMs on both, writethrough", baseConfig(r), {
      disks: [
        disk({ name: "data", path: `${r}/var/run/vireo/volumes/data/disk.img`, bus: "scsi", cache: "writethrough", aio: "threads" }),
        disk({ name: "logs", path: `${r}/var/run/vireo/volumes/logs/disk.img`, bus: "scsi" }),
        disk({ name: "legacy", path: `${r}/var/run/vireo/volumes/legacy/disk.img`, bus: "sata", bootOrder: 1 }),
        disk({
          name: "cloudinit",
          path: `${r}/var/lib/vireo/cloudinit.iso`,
          bus: "sata",
          media: "cdrom",
          readOnly: true,
          cache: "writethrough",
          aio: "threads",
          discard: false,
        }),
        disk({
          name: "install",
          path: `${r}/var/lib/vireo/install.iso`,
          bus: "scsi",
          media: "cdrom",
          readOnly: true,
          cache: "writethrough",
          aio: "threads",
          discard: false,
        }),
      ],
    }),
    shape("nics", "tap with vhost and MTU, passt over a unix stream, e1000e without a backend, rtl8139", baseConfig(r), {
      nics,
    }),
    shape(
      "vnc-no-extras",
      "VNC on loopback, no serial console, no rng, no balloon, odd memory size, UUID-less VM",
      baseConfig(r, {
        vm: { namespace: "dev", name: "desk", uid: "not-a-uuid" },
        memory: { guestBytes: 300 * MiB + 4096 },
        devices: { serialConsole: false, vnc: true, rng: false, balloon: { enabled: false, statsPollSeconds: 0 } },
      }),
    ),
    shape(
      "comma-paths",
      "paths with commas cannot inject options",
      baseConfig(r, { boot: { kind: "kernel", kernelPath: `${r}/var/run/vireo/kernel/k,evil=on`, cmdline: "a,b" } }),
      { disks: [disk({ name: "root", path: `${r}/var/run/vireo/volumes/root/x,file.locking=off.img` })] },
    ),
  ];
}

/** The host used for golden files: the pod layout with the paths the operator would mount. */
export const GOLDEN_HOST: ShapeHost = {
  root: "",
  blockDevice: "/dev/vireo/shared",
  kernel: "/var/run/vireo/kernel/kernel",
  initrd: "/var/run/vireo/kernel/initrd",
};
