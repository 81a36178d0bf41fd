import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it, onTestFailed } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { firmwareFiles } from "../../launcher/qemu/firmware-files.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { nodeStorageDeps, prepareDisks } from "../../launcher/storage/index.ts";
import { testConfig, testDisk } from "../../launcher/storage/testing.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { ensureDebianImage } from "../guest/debian-image.ts";
import { HostFixtures, sha256 } from "./storage-vm.ts";

// The slow tier: the Debian 12 cloud image (scripts/guest-image) boots from a containerDisk through SeaBIOS
// and its own GRUB under TCG and applies our NoCloud ISO — hostname and instance-id from meta-data, files and
// commands from user-data, the generated network-config for its NIC. A few minutes here once the image is
// cached (building it takes about three more). Runs when VIREO_SLOW_TESTS=1; the default tier's
// real-image-*.test.ts boot the same image from a claim.

const SLOW = process.env.VIREO_SLOW_TESTS === "1";
const BUILD_MS = 30 * 60_000;
const RUN_MS = 15 * 60_000;
const MAC = "52:54:00:de:b1:01";

/** user-data: a report script that prints what cloud-init applied to the serial console, then power off. */
const USER_DATA = `#cloud-config
write_files:
  - path: /var/tmp/vireo-userdata
    content: "applied-from-user-data\\n"
  - path: /usr/local/bin/vireo-report
    permissions: "0755"
    content: |
      #!/bin/sh
      net=$(grep -o 'Applying network configuration from [a-z_]*' /var/log/cloud-init.log | tail -n1 | awk '{print $NF}')
      ip=$(ip -4 -o addr show scope global | awk '{print $4}' | head -n1)
      echo "VIREO-CI hostname=$(hostname) iid=$(cat /var/lib/cloud/data/instance-id) file=$(cat /var/tmp/vireo-userdata) net=$net ip=$ip" > /dev/ttyS0
runcmd:
  - [/usr/local/bin/vireo-report]
power_state:
  mode: poweroff
  timeout: 60
`;

describe.skipIf(!SLOW)("storage, slow tier: a Debian guest applies its NoCloud user-data", () => {
  const fx = new HostFixtures();

  afterEach(async () => {
    await fx.release();
  });

  it(
    "boots from a containerDisk through SeaBIOS, applies meta-data, user-data and network-config, leaves the base intact",
    async () => {
      const image = ensureDebianImage();
      const root = fx.tempDir("vireo-storage-debian-");
      const base = testConfig(root, []);
      const { paths } = base;
      // What the operator's init containers leave in the pod: the image's disk.
      const cdDir = join(paths.containerDisksDir, "root");
      mkdirSync(cdDir, { recursive: true });
      copyFileSync(image.disk, join(cdDir, "disk.qcow2"));
      const baseSha = sha256(join(cdDir, "disk.qcow2"));
      mkdirSync(paths.runDir, { recursive: true });

      const config: LauncherConfig = launcherConfigSchema.parse({
        ...testConfig(
          root,
          [
            testDisk(
              "root",
              { kind: "containerDisk", image: "vireo/debian:12", dir: cdDir },
              { bootOrder: 1 },
            ),
            testDisk(
              "cloudinit",
              { kind: "cloudInit", instanceId: base.vm.uid, hostname: "debian-vm", userData: USER_DATA },
              { readOnly: true },
            ),
          ],
          [
            {
              name: "default",
              binding: "bridge",
              mac: MAC,
              model: "virtio",
              ports: [],
              network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
            },
          ],
        ),
        cpu: { sockets: 1, cores: 2, threads: 1, model: "host-model" },
        memory: { guestBytes: 1024 * 2 ** 20 },
        // SeaBIOS and the image's GRUB, as a user's VM boots.
        boot: { kind: "bios" },
      });

      const disks = await prepareDisks(config, nodeStorageDeps(pino({ level: "warn" })));
      const files = runtimeFiles(paths);
      const argv = [
        ...buildQemuArgs(config, {
          accel: "tcg",
          hostCpuQuirks: [],
          disks,
          nics: [],
          files,
          firmware: firmwareFiles(false),
        }),
        // Networking is not under test here: user-mode networking, restricted to the guest (nothing leaves
        // the machine), on the NIC the generated network-config names by MAC.
        "-netdev",
        "user,id=testnet,restrict=on",
        "-device",
        `virtio-net-pci,netdev=testnet,mac=${MAC}`,
      ];
      const qemu = spawn("qemu-system-x86_64", argv, { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      qemu.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => qemu.once("exit", (code) => resolve(code)));
      fx.defer(`kill qemu ${qemu.pid}`, async () => {
        if (qemu.exitCode === null && qemu.signalCode === null) process.kill(qemu.pid!, "SIGKILL");
        await exited;
      });
      const serial = await SerialConsole.connect(files.serialSocket, { logFile: join(root, "console.log") });
      fx.defer("close console", () => serial.close());
      onTestFailed(() =>
        console.error(`--- console ---\n${serial.transcript.slice(-8000)}\n--- stderr ---\n${stderr}`),
      );
      const qmp = await QmpClient.connect(files.qmpSocket);
      fx.defer("close qmp", () => qmp.close());
      await qmp.execute("cont");

      const m = await serial.waitFor(/^VIREO-CI (.*)\n/m, RUN_MS, { failOn: [/Kernel panic - not syncing/] });
      const fields = Object.fromEntries(
        m[1]!
          .trim()
          .split(" ")
          .map((kv) => kv.split("=") as [string, string]),
      );
      expect(fields).toEqual({
        hostname: "debian-vm",
        iid: base.vm.uid,
        file: "applied-from-user-data",
        // From our network-config ("ds"), not cloud-init's fallback.
        net: "ds",
        ip: "10.0.2.15/24",
      });
      // cloud-init's last word names the datasource and the seed: our ISO.
      await serial.waitFor(/Datasource DataSourceNoCloud \[seed=\/dev\/vd[a-z]\]/, RUN_MS);
      // power_state: poweroff ends QEMU cleanly.
      expect(await exited).toBe(0);
      expect(sha256(join(cdDir, "disk.qcow2"))).toBe(baseSha);
    },
    BUILD_MS + RUN_MS,
  );
});
