import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/**
 * virtio-balloon with guest memory statistics (read over QMP for metrics). Free page reporting hands memory
 * the guest freed back to the node, except with hugepages, where it cannot be returned page by page.
 */
export const balloonArgs: DeviceArgs = ({ config }) => {
  const { enabled, statsPollSeconds } = config.devices.balloon;
  if (!enabled) return [];
  return [
    "-device",
    opts("virtio-balloon-pci", {
      id: "balloon0",
      "guest-stats-polling-interval": statsPollSeconds,
      "free-page-reporting": !config.memory.hugepages,
    }),
  ];
};
