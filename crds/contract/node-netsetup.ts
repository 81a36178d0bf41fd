/**
 * The node network-setup socket: the device plugin's Allocate mounts a per-slot directory holding it into
 * the launcher container (a device-plugin mount, set by the kubelet, so the pod spec never names a
 * hostPath), and the launcher asks the node agent there to plumb its pod's network namespace.
 */
import type { ResourceName } from "./resources.ts";

/** Where the launcher container sees the node agent's directory. */
export const NODE_NETSETUP_DIR = "/run/vireo-node";
/** The agent's socket file inside {@link NODE_NETSETUP_DIR}. */
export const NODE_NETSETUP_SOCKET = "netsetup.sock";
/** The socket as the launcher sees it. */
export const NODE_NETSETUP_PATH = `${NODE_NETSETUP_DIR}/${NODE_NETSETUP_SOCKET}`;
/** The resource whose Allocate hands out the socket: every pod with a tap asks for /dev/net/tun. */
export const NODE_NETSETUP_RESOURCE: ResourceName = "tun";
/** Largest request line the agent reads (the config is at most ≈ 200 KiB with 128 KiB of cloud-init). */
export const NODE_NETSETUP_MAX_REQUEST_BYTES = 1 << 20;
/** Version of the request line `{version, config, resolvConf, networkStatus?}`. */
export const NODE_NETSETUP_VERSION = 1;
