/** Launcher configs for the network tests. */
import {
  launcherConfigSchema,
  type LauncherConfig,
  type LauncherInterface,
} from "../../../crds/launcher/config.ts";
import { LAUNCHER_HTTP_PORT, podPaths } from "../../../crds/contract/index.ts";
import { deriveMac } from "../../../crds/launcher/mac.ts";

/** A launcher config with one pod-network NIC, for tests. */
export function testLauncherConfig(
  runDir: string,
  nic: Partial<LauncherInterface> & Pick<LauncherInterface, "binding">,
  extra: LauncherInterface[] = [],
): LauncherConfig {
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "default", name: "testvm", uid: "00000000-0000-0000-0000-000000000001" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "max" },
    memory: { guestBytes: 256 << 20 },
    boot: { kind: "bios" },
    disks: [],
    interfaces: [
      {
        name: "default",
        mac: deriveMac("default", "testvm", "default"),
        model: "virtio",
        ports: [],
        network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
        ...nic,
      },
      ...extra,
    ],
    devices: {
      serialConsole: true,
      vnc: false,
      rng: false,
      balloon: { enabled: false, statsPollSeconds: 0 },
    },
    terminationGracePeriodSeconds: 30,
    paths: { ...podPaths(), runDir },
    http: { port: LAUNCHER_HTTP_PORT },
  });
}
