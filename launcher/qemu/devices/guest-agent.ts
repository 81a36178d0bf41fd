import { GUEST_AGENT_PORT } from "../../../crds/contract/guest-agent.ts";
import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/**
 * The guest agent's channel on every VM: a virtio-serial port named `org.qemu.guest_agent.0` (the name
 * qemu-guest-agent looks for) on a unix socket in the run directory; the launcher is its only client
 * (launcher/agent/). A guest without an agent never opens the port, and nothing is lost but the port.
 */
export const guestAgentArgs: DeviceArgs = ({ inputs }) => [
  "-chardev",
  opts("socket", { id: "agent0", path: inputs.files.agentSocket, server: true, wait: false }),
  "-device",
  opts("virtio-serial-pci", { id: "agent-serial0" }),
  "-device",
  opts("virtserialport", { bus: "agent-serial0.0", chardev: "agent0", name: GUEST_AGENT_PORT }),
];
