/** Test support: a valid launcher config around a list of disks (shared by unit and integration tests). */
import { launcherConfigSchema, type LauncherConfig, type LauncherDisk } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";

/** A disk with defaults for everything but its name and source. */
export function testDisk(
  name: string,
  source: LauncherDisk["source"],
  extra: Partial<LauncherDisk> = {},
): LauncherDisk {
  return { name, bus: "virtio", readOnly: false, serial: name.slice(0, 20), source, ...extra };
}

/** A launcher config for a VM with these disks and NICs, its pod paths re-rooted under `root`. */
export function testConfig(
  root: string,
  disks: LauncherDisk[],
  interfaces: LauncherConfig["interfaces"] = [],
): LauncherConfig {
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "default", name: "storage-test", uid: "0b8a3c9e-7f55-4d4e-9a3e-6c1d2f0a1b2c" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host" },
    memory: { guestBytes: 256 * 2 ** 20 },
    boot: { kind: "bios" },
    disks,
    interfaces,
    devices: {
      serialConsole: true,
      vnc: false,
      rng: false,
      balloon: { enabled: false, statsPollSeconds: 10 },
    },
    terminationGracePeriodSeconds: 30,
    paths: podPaths(root),
    http: { port: 9100 },
  });
}
