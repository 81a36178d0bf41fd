import type { DeviceArgs } from "../inputs.ts";

/** virtio-rng fed from the host's non-blocking /dev/urandom. */
export const rngArgs: DeviceArgs = ({ config }) =>
  config.devices.rng
    ? ["-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,id=rng,rng=rng0"]
    : [];
