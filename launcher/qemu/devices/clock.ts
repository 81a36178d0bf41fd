import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/**
 * The guest clock: the RTC's base (Windows keeps it in local time: the pod's time zone) with drift made up
 * by slewing, the HPET removed (q35's `hpet` machine property; QEMU merges repeated -machine options), and
 * the in-kernel PIT's lost-tick policy, which exists only with KVM.
 */
export const clockArgs: DeviceArgs = ({ config, inputs }) => {
  const c = config.clock;
  if (!c) return [];
  return [
    "-rtc",
    opts(undefined, { base: c.base, driftfix: c.rtcCatchup ? "slew" : undefined }),
    ...(c.hpet ? [] : ["-machine", "hpet=off"]),
    ...(c.pitTickPolicy && inputs.accel === "kvm"
      ? ["-global", `kvm-pit.lost_tick_policy=${c.pitTickPolicy}`]
      : []),
  ];
};
