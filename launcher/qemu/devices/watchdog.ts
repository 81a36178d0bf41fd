import type { DeviceArgs } from "../inputs.ts";

/**
 * The i6300esb PCI watchdog and what QEMU does when it fires. QEMU sends a WATCHDOG event either way; the
 * supervisor's reducer reports it (poweroff ends the run as a watchdog failure, reset counts a reset).
 */
export const watchdogArgs: DeviceArgs = ({ config }) => {
  const w = config.devices.watchdog;
  if (!w) return [];
  return ["-device", `${w.model},id=watchdog0`, "-action", `watchdog=${w.action}`];
};
