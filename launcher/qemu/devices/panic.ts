import type { DeviceArgs } from "../inputs.ts";

/** pvpanic: the guest kernel reports its panic, which QEMU turns into a GUEST_PANICKED event. */
export const panicArgs: DeviceArgs = () => ["-device", "pvpanic,id=pvpanic0"];
