import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/**
 * The serial console on a unix socket. The launcher is its only client: it keeps the recent output for
 * `logs` and fans the console out to `vireo-launcher console` sessions.
 */
export const serialArgs: DeviceArgs = ({ config, inputs }) =>
  config.devices.serialConsole
    ? [
        "-chardev",
        opts("socket", { id: "serial0", path: inputs.files.serialSocket, server: true, wait: false }),
        "-serial",
        "chardev:serial0",
      ]
    : [];
