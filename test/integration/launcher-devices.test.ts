/**
 * The launcher (uid 107, no capabilities) opens /dev/kvm and /dev/net/tun whatever the host's modes are:
 * the host's nodes are set to 0600 root:root and then to 0660 root:kvm (restored afterwards), the device
 * plugin's code makes the launcher's nodes, they are put where the container runtime would put them, and
 * QEMU as uid 107 opens KVM and boots a bridge-bound guest that gets the pod IP by DHCP.
 */
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAUNCHER_GID } from "../../crds/contract/index.ts";
import { splitDev } from "../../deviceplugin/launcher-nodes.ts";
import {
  asUnprivileged,
  bootGuest,
  createTopology,
  type LauncherSide,
  type NetGuest,
  runNetsetupSide,
  sh,
  startLauncherSide,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import { HOST_DEVICE_MODES, setHostDeviceModes } from "../harness/host-device-modes.ts";

const KVM_PROBE_SIDE = fileURLToPath(
  new URL("../../launcher/network/testing/kvm-probe-side.ts", import.meta.url),
);

describe.sequential.each(HOST_DEVICE_MODES)("host device nodes at %s", (mode) => {
  let restore: (() => Promise<void>) | undefined;
  let topo: Topology;
  let side: LauncherSide | undefined;
  let guest: NetGuest | undefined;

  beforeAll(async () => {
    restore = await setHostDeviceModes(mode);
    topo = await createTopology();
  });

  afterAll(async () => {
    await guest?.stop();
    await side?.stop();
    await topo?.destroy();
    await restore?.();
  });

  it("keeps uid 107 out of the host's own /dev/net/tun (the situation this covers)", async () => {
    const open = sh([...asUnprivileged(topo.pod), "sh", "-c", "exec 3<>/dev/net/tun"]);
    await expect(open).rejects.toThrow(/Permission denied/);
  });

  it("makes the launcher's nodes root:107 0660 with the host's device numbers", async () => {
    expect(topo.devices.map((d) => d.containerPath)).toEqual(
      existsSync("/dev/kvm") ? ["/dev/kvm", "/dev/net/tun"] : ["/dev/net/tun"],
    );
    for (const d of topo.devices) {
      const [node, host] = await Promise.all([
        stat(d.nodePath, { bigint: true }),
        stat(d.containerPath, { bigint: true }),
      ]);
      expect(node.isCharacterDevice()).toBe(true);
      expect(splitDev(node.rdev)).toEqual(splitDev(host.rdev));
      expect([Number(node.uid), Number(node.gid), Number(node.mode & 0o7777n)]).toEqual([
        0,
        LAUNCHER_GID,
        0o660,
      ]);
    }
  });

  it.skipIf(!existsSync("/dev/kvm"))(
    "lets QEMU as uid 107 open /dev/kvm: the launcher's KVM probe",
    async () => {
      const out = await sh(
        [...asUnprivileged(topo.pod, topo.devices), process.execPath, "--import", "tsx", KVM_PROBE_SIDE],
        "",
        60_000,
      );
      const probe = JSON.parse(out.trim().split("\n").pop()!) as { usable: boolean; reason?: string };
      expect(probe).toMatchObject({ usable: true });
    },
  );

  it("boots a bridge-bound guest as uid 107 that gets the pod IP by DHCP", async () => {
    const config = testLauncherConfig(topo.runDir, { binding: "bridge" });
    expect(await runNetsetupSide(topo, config)).toMatchObject({ ok: true });
    side = await startLauncherSide(topo, config);
    guest = await bootGuest(topo, config, side.nics, ["vireo.dhcp=1"]);
    const report = await guest.serial.waitForReady(180_000);
    expect(report.addresses[0]).toMatchObject({ iface: "eth0", ip: TOPOLOGY.podIp });
  });
});
