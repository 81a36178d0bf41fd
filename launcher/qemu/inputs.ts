import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PreparedDisk, PreparedNic } from "../prepared.ts";
import type { FirmwareFiles } from "./firmware-files.ts";
import type { GuestNumaNode, PinningPlan } from "./pinning.ts";
import type { RuntimeFiles } from "./runtime-files.ts";

/** The accelerator preflight chose. */
export type Accelerator = "kvm" | "tcg";

/** Everything besides the config that shapes the QEMU command line; all resolved before QEMU starts. */
export interface QemuInputs {
  accel: Accelerator;
  /**
   * CPU properties this host's KVM needs when the guest gets the host CPU (e.g. `-arch-capabilities` where
   * KVM rejects that MSR); found by preflight, empty under TCG.
   */
  hostCpuQuirks: string[];
  disks: PreparedDisk[];
  nics: PreparedNic[];
  files: RuntimeFiles;
  firmware: FirmwareFiles;
  /** With dedicated CPUs: the placement read from the pod's cpuset, and guest NUMA nodes (empty: none). */
  dedicated?: { plan: PinningPlan; numa: GuestNumaNode[] };
}

/** What every device module receives. */
export interface DeviceContext {
  config: LauncherConfig;
  inputs: QemuInputs;
}

/** The shape of every device module: the QEMU arguments for one kind of device. */
export type DeviceArgs = (ctx: DeviceContext) => string[];
