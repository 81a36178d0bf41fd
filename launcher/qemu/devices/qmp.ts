import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/** The QMP monitor on a unix socket in the run directory; never on TCP. */
export const qmpArgs: DeviceArgs = ({ inputs }) => [
  "-qmp",
  opts(`unix:${inputs.files.qmpSocket}`, { server: true, wait: false }),
];
