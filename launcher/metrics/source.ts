/**
 * What the metrics need from the running launcher. The supervisor implements this (see
 * `supervisor-source.ts`); unit tests fake it. Everything is read at scrape time, so the values may change
 * between calls (QEMU restarts, the accelerator is known only after the probe).
 */

/** The VM this launcher runs, as it appears in `vireo_vm_info`. */
export interface VmIdentity {
  namespace: string;
  name: string;
  /** QEMU machine type, e.g. `q35`. */
  machine: string;
  /** `bios`, `uefi`, `uefi-secureboot` or `kernel` (direct kernel boot). */
  firmware: string;
  /** The accelerator actually in use: `kvm` or `tcg` (`unknown` before the probe). */
  accelerator: string;
}

/** A guest NIC and the host device behind it. */
export interface MetricsNic {
  /** The interface's name in the VM spec (the `interface` label). */
  name: string;
  /** `tap`: counters come from the tap's sysfs statistics; `passt`/`none`: no host-side counters. */
  backend: "tap" | "passt" | "none";
  /** The tap's interface name in the launcher's network namespace (tap backends only). */
  tap?: string;
}

/** A guest disk and how QEMU names it in `query-blockstats`. */
export interface MetricsDisk {
  /** The disk's name in the VM spec (the `drive` label). */
  name: string;
  /** The `-device ...,id=` of the disk's frontend; blockstats report it as `qdev` (`/machine/peripheral/<id>/...`). */
  deviceId?: string;
  /** The top block node's `node-name` (for `-blockdev` setups); matched when no device id matches. */
  nodeName?: string;
}

/** Runs one QMP command; rejects when QEMU answers with an error or does not answer within `timeoutMs`. */
export type QmpExecute = (
  command: string,
  args: Record<string, unknown> | undefined,
  timeoutMs: number,
) => Promise<unknown>;

/** The launcher as the metrics see it. */
export interface VmMetricsSource {
  /** Who the VM is; read on every scrape. */
  identity(): VmIdentity;
  /** The QEMU process id, or undefined while no QEMU runs (before start, after exit). */
  qemuPid(): number | undefined;
  /** A QMP command with a timeout; only called while `qemuPid()` is defined. */
  qmp: QmpExecute;
  /** The guest NICs. */
  nics(): readonly MetricsNic[];
  /** The guest disks. */
  disks(): readonly MetricsDisk[];
  /** QOM path of the virtio-balloon device (e.g. `/machine/peripheral/balloon0`), undefined without one. */
  balloonQomPath(): string | undefined;
}

/** Reads host files (procfs, sysfs); faked in unit tests. */
export interface HostFiles {
  /** The whole file as UTF-8. */
  readFile(path: string): Promise<string>;
}
