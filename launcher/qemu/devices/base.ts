import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The frame every VM gets: nothing QEMU would add by default, start paused (the launcher connects the
 * console and QMP, then sends `cont`), the seccomp sandbox, and names that show up in `ps` and thread names.
 */
export const baseArgs: DeviceArgs = ({ config }) => [
  "-nodefaults",
  "-no-user-config",
  "-S",
  "-name",
  opts(undefined, { guest: `${config.vm.namespace}/${config.vm.name}`, "debug-threads": true }),
  // QEMU never needs to spawn helpers, gain privileges or change scheduling once running.
  "-sandbox",
  opts("on", { obsolete: "deny", elevateprivileges: "deny", spawn: "deny", resourcecontrol: "deny" }),
  "-msg",
  "timestamp=on",
  // A panicking guest stays paused for the launcher to report, rather than rebooting silently.
  "-action",
  "panic=pause",
  // The firmware UUID follows the VirtualMachine, so it is stable across restarts.
  ...(UUID.test(config.vm.uid) ? ["-uuid", config.vm.uid.toLowerCase()] : []),
];
