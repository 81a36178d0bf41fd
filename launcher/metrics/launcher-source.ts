import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { PreparedDisk, PreparedNic } from "../prepared.ts";
import { diskDeviceId } from "../qemu/devices/disk.ts";
import type { ExecuteOptions } from "../qemu/qmp-client.ts";
import type { MetricsNic, VmMetricsSource } from "./source.ts";

/** QOM path of the balloon: launcher/qemu/devices/balloon.ts gives it the id `balloon0`. */
export const BALLOON_QOM_PATH = "/machine/peripheral/balloon0";

/** The running launcher as the metrics adapter reads it; every getter is asked at scrape time. */
export interface LauncherView {
  config: LauncherConfig;
  /** The accelerator preflight chose; undefined before the probe. */
  accelerator(): "kvm" | "tcg" | undefined;
  /** Disks and NICs as QEMU was started with (empty before preparation). */
  disks(): readonly PreparedDisk[];
  nics(): readonly PreparedNic[];
  /** QEMU's pid while it runs. */
  qemuPid(): number | undefined;
  /** The connected QMP client while there is one. */
  qmp():
    | { execute(command: string, args?: Record<string, unknown>, options?: ExecuteOptions): Promise<unknown> }
    | undefined;
}

/** `bios`, `uefi`, `uefi-secureboot` or `kernel`: the `firmware` label of `vireo_vm_info`. */
export function firmwareLabel(boot: LauncherConfig["boot"]): string {
  return boot.kind === "uefi" && boot.secureBoot ? "uefi-secureboot" : boot.kind;
}

/** The metrics' view of a launcher: names from the config, devices from preparation, QEMU from the supervisor. */
export function launcherMetricsSource(view: LauncherView): VmMetricsSource {
  const { config } = view;
  return {
    identity: () => ({
      namespace: config.vm.namespace,
      name: config.vm.name,
      machine: config.machine,
      firmware: firmwareLabel(config.boot),
      accelerator: view.accelerator() ?? "unknown",
    }),
    qemuPid: () => view.qemuPid(),
    qmp: (command, args, timeoutMs) => {
      const client = view.qmp();
      if (client === undefined)
        return Promise.reject(new Error(`QMP is not connected; cannot run ${command}`));
      return client.execute(command, args, { timeoutMs });
    },
    nics: () =>
      view.nics().map((n): MetricsNic => {
        if (n.backend.kind === "tap") return { name: n.name, backend: "tap", tap: n.backend.ifname };
        return { name: n.name, backend: n.backend.kind };
      }),
    disks: () => view.disks().map((d) => ({ name: d.name, deviceId: diskDeviceId(d.name) })),
    balloonQomPath: () => (config.devices.balloon.enabled ? BALLOON_QOM_PATH : undefined),
  };
}
