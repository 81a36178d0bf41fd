import { createHash } from "node:crypto";

/**
 * A stable, locally administered unicast MAC for a guest NIC, derived from the VM's namespace, name and
 * interface name, so the guest keeps its MAC (and its DHCP lease, and its udev names) across restarts and
 * across delete/re-create by GitOps.
 */
export function deriveMac(namespace: string, vmName: string, ifaceName: string): string {
  const h = createHash("sha256").update(`${namespace}/${vmName}/${ifaceName}`).digest();
  // 0x02: locally administered, unicast.
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
