import type { PreparedNic } from "../../prepared.ts";
import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";

/** QEMU device id of a NIC, stable by interface name (metrics and QMP find it under this). */
export const nicDeviceId = (name: string) => `nic-${name}`;

const MODELS: Record<PreparedNic["model"], string> = {
  virtio: "virtio-net-pci",
  e1000e: "e1000e",
  rtl8139: "rtl8139",
};

function netdev(n: PreparedNic, id: string): string[] {
  const b = n.backend;
  switch (b.kind) {
    case "tap":
      // The tap exists already (netsetup made it); QEMU only opens it and runs no scripts.
      return [
        "-netdev",
        opts("tap", {
          id,
          ifname: b.ifname,
          script: "no",
          downscript: "no",
          vhost: n.model === "virtio" && b.vhost,
        }),
      ];
    case "passt":
      return [
        "-netdev",
        opts("stream", { id, server: false, "addr.type": "unix", "addr.path": b.socketPath }),
      ];
    case "none":
      return [];
  }
}

/**
 * NICs with their backends. A NIC without a boot order gets no option ROM: nothing would boot from it, and
 * the ROM costs firmware time.
 */
export const nicArgs: DeviceArgs = ({ inputs }) =>
  inputs.nics.flatMap((n, i) => {
    const id = `net${i}`;
    const backend = netdev(n, id);
    return [
      ...backend,
      "-device",
      opts(MODELS[n.model], {
        netdev: backend.length ? id : undefined,
        id: nicDeviceId(n.name),
        mac: n.mac,
        host_mtu: n.model === "virtio" ? n.mtu : undefined,
        bootindex: n.bootOrder,
        romfile: n.bootOrder === undefined ? "" : undefined,
      }),
    ];
  });
