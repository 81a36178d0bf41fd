/**
 * The launcher's device nodes for tests that run QEMU as uid 107 outside a pod: made by the device
 * plugin's own code (deviceplugin/launcher-nodes.ts) from the host's /dev, whatever the host's modes, and
 * bind-mounted where the container runtime would put them (process.ts `asUnprivileged`).
 */
import { hostDevices } from "../../../deviceplugin/resources.ts";
import { type ResourceName } from "../../../crds/contract/index.ts";
import { syncLauncherNode } from "../../../deviceplugin/launcher-nodes.ts";
import type { DeviceBind } from "./process.ts";

/**
 * Makes the launcher's nodes of `names` under `nodeDir` (a directory the test removes) and returns those
 * whose host device exists, as binds for `asUnprivileged`.
 */
export async function launcherDeviceNodes(
  nodeDir: string,
  names: readonly ResourceName[] = ["kvm", "tun"],
  devDir = "/dev",
): Promise<DeviceBind[]> {
  const binds: DeviceBind[] = [];
  for (const device of hostDevices({ devDir, nodeDir }, names)) {
    if ((await syncLauncherNode(device, nodeDir)).ready)
      binds.push({ nodePath: device.nodePath, containerPath: device.containerPath });
  }
  return binds;
}
