/**
 * Pure decisions of the device plugin: which "devices" to advertise and what Allocate answers.
 *
 * /dev/kvm, /dev/net/tun and /dev/vhost-net are shared by every VM on a node, but the kubelet only knows
 * countable devices. So each node is advertised as N identical slots (N bounds the VMs per node, like the
 * kubelet's pod limit); every slot of one resource maps to the same host node.
 */
import { type AllocateRequest, type AllocateResponse, type Device, HEALTHY, UNHEALTHY } from "./api.ts";
import { DevicePluginError } from "./errors.ts";
import type { HostDevice } from "./resources.ts";
import { NODE_NETSETUP_DIR, NODE_NETSETUP_RESOURCE } from "../crds/contract/index.ts";

/** IDs of the slots of one resource: `kvm-0` … `kvm-(slots-1)`. */
export function slotIds(device: HostDevice, slots: number): string[] {
  return Array.from({ length: slots }, (_, i) => `${device.name}-${i}`);
}

/** The ListAndWatch device list: every slot carries the health of the one host node behind it. */
export function deviceList(device: HostDevice, slots: number, healthy: boolean): Device[] {
  const health = healthy ? HEALTHY : UNHEALTHY;
  return slotIds(device, slots).map((ID) => ({ ID, health }));
}

/**
 * The Allocate answer: one DeviceSpec (read-write; no mknod) per container, however many slots it asked
 * for, naming the launcher's node (launcher-nodes.ts) rather than the host's, so its owner and mode reach
 * the container. Unknown IDs are refused (the kubelet asked the wrong plugin), and so is an allocation while the
 * host node is missing: the proto asks plugins to fail Allocate then rather than hand out a dead path.
 */
export function allocate(
  device: HostDevice,
  slots: number,
  healthy: boolean,
  request: AllocateRequest,
  netsetupHostDir?: string,
): AllocateResponse {
  const known = new Set(slotIds(device, slots));
  const container_responses = request.container_requests.map((req) => {
    const unknown = req.devices_ids.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new DevicePluginError(
        "UNKNOWN_DEVICE",
        `${device.resourceName}: unknown device IDs ${unknown.join(", ")} (this plugin serves ${device.name}-0 … ${device.name}-${slots - 1})`,
      );
    }
    if (!healthy) {
      throw new DevicePluginError(
        "DEVICE_UNHEALTHY",
        `${device.resourceName}: ${device.probePath} is missing on this node, or its launcher node ${device.hostPath} could not be made`,
      );
    }
    const devices = [{ container_path: device.containerPath, host_path: device.hostPath, permissions: "rw" }];
    // The node network-setup socket of this slot (deviceplugin/netsetup): a device-plugin mount, so the
    // pod spec holds no hostPath and the socket reaches only the container the slot was allocated to.
    // Read-only: the container can connect to the socket but plant nothing beside it.
    if (netsetupHostDir === undefined || device.name !== NODE_NETSETUP_RESOURCE) return { devices };
    const mounts = [
      {
        container_path: NODE_NETSETUP_DIR,
        host_path: `${netsetupHostDir}/${req.devices_ids[0]}`,
        read_only: true,
      },
    ];
    return { devices, mounts };
  });
  return { container_responses };
}
