/**
 * Devices the cloud kernel has no driver for, seen by a real guest: the test guest on Debian's generic kernel
 * (`VIREO_GUEST_FLAVOUR=generic scripts/guest/build.sh`) booted by the launcher binary in a test network
 * namespace playing the pod (netsetup as root, the launcher as uid 107 under TCG). One boot shows a SATA disk
 * on q35's AHCI controller, an e1000e NIC that gets the pod IP by DHCP, and the i6300esb watchdog firing
 * (action reset) once the guest stops petting it; a second boot shows action poweroff ending the run with the
 * watchdog's exit code and termination message, which the operator turns into Failure=WatchdogFired.
 */
import { chown, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { EXIT, podPaths } from "../../crds/contract/index.ts";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import {
  createTopology,
  testLauncherConfig,
  TOPOLOGY,
  type Topology,
} from "../../launcher/network/testing/index.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import type { LauncherStatus } from "../../launcher/supervisor/state.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { litShare } from "../guest/frame.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";
import { boot, type Boot, type RealVm } from "./real-image-kit.ts";

const run = promisify(execFile);
const MiB = 2 ** 20;
const BOOT_MS = 240_000;

/** A launcher config for the generic guest: a SATA data disk, an e1000e bridge NIC, the watchdog. */
async function prepare(
  topo: Topology,
  name: string,
  action: "reset" | "poweroff",
  vnc = false,
): Promise<RealVm> {
  const artifacts = guestArtifacts(process.env, "generic");
  const root = join(topo.dir, name);
  // The launcher (uid 107) cannot read the cache under root's home; the pod gets them in a volume too.
  await mkdir(root, { recursive: true, mode: 0o755 });
  const kernel = join(root, "vmlinuz");
  const initramfs = join(root, "initramfs.cpio.gz");
  await copyFile(artifacts.kernel, kernel);
  await copyFile(artifacts.initramfs, initramfs);
  const net = testLauncherConfig(topo.runDir, { binding: "bridge", model: "e1000e" });
  const config: LauncherConfig = launcherConfigSchema.parse({
    ...net,
    vm: { ...net.vm, name },
    boot: {
      kind: "kernel",
      kernelPath: kernel,
      initrdPath: initramfs,
      cmdline: `${vnc ? "console=tty0 " : ""}console=ttyS0 vireo.dhcp=1`,
    },
    disks: [
      {
        name: "data",
        bus: "sata",
        readOnly: false,
        serial: "SATA-DATA-1",
        source: { kind: "emptyDisk", capacityBytes: 64 * MiB },
      },
    ],
    devices: { ...net.devices, vnc, watchdog: { model: "i6300esb", action } },
    paths: podPaths(root),
    http: { port: await freePort() },
  });
  for (const dir of [root, ...Object.values(config.paths)]) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chown(dir, 107, 107);
  }
  const configFile = join(root, "launcher-config.json");
  await writeFile(configFile, JSON.stringify(config), { mode: 0o644 });
  // boot() reads only the config, its file and the root; the SSH and image fields are the real image's.
  return { name, config, configFile, root } as RealVm;
}

const status = (vm: RealVm) =>
  controlRequest(runtimeFiles(vm.config.paths).controlSocket, "status") as Promise<LauncherStatus>;

describe("generic-kernel guest: SATA (AHCI), e1000e and the i6300esb watchdog, through the launcher", () => {
  // One "pod" (network namespace) per VM, as netsetup expects: each test makes its own and removes it.
  let topo: Topology | undefined;
  const boots: Boot[] = [];

  afterEach(async () => {
    for (const b of boots.splice(0)) await b.stop();
    await topo?.destroy();
    topo = undefined;
  });

  it(
    "sees the AHCI disk and the e1000e NIC (pod IP by DHCP); the watchdog resets the guest once it stops petting it",
    async () => {
      topo = await createTopology();
      const vm = await prepare(topo, "wd-reset", "reset", true);
      const b = await boot(topo, vm, 1);
      boots.push(b);
      const report = await b.console.waitForReady(BOOT_MS);
      const readyMs = Date.now() - b.startedAt;

      expect(report.disks).toContainEqual(
        expect.objectContaining({ name: "sda", type: "disk", serial: "SATA-DATA-1", sizeBytes: 64 * MiB }),
      );
      expect(report.nics).toEqual([expect.objectContaining({ name: "eth0", driver: "e1000e" })]);
      expect(report.addresses[0]).toMatchObject({
        iface: "eth0",
        ip: TOPOLOGY.podIp,
        routers: [TOPOLOGY.gwIp],
      });

      await b.console.waitForShell(60_000);
      // The disk hangs off an ATA port of the AHCI controller (q35's ICH9 at 00:1f.2), driven by ahci.
      const sata = await b.console.run(
        "readlink -f /sys/block/sda; ls -1 /sys/bus/pci/drivers/ahci; cat /sys/class/watchdog/watchdog0/identity",
        30_000,
      );
      expect(sata.exitCode).toBe(0);
      expect(sata.output).toMatch(/\/ata\d+\/host\d+\/.*\/block\/sda\n/);
      expect(sata.output).toMatch(/^0000:00:1f\.2$/m);
      expect(sata.output).toMatch(/^i6300ESB timer$/m);

      // VNC: a real client (vncsnapshot) in the pod grabs the VGA console with the kernel's boot text on it: a
      // dark screen with some lit text (an all-black or all-white frame fails); QEMU listens on loopback only.
      const frame = join(vm.root, "frame.jpg");
      await run("ip", ["netns", "exec", topo.pod, "vncsnapshot", "-quiet", "127.0.0.1:0", frame], {
        timeout: 60_000,
      });
      // VIREO_VNC_FRAME=path keeps the frame, to look at it.
      if (process.env.VIREO_VNC_FRAME) await copyFile(frame, process.env.VIREO_VNC_FRAME);
      const lit = await litShare(frame);
      expect(lit).toBeGreaterThan(0.005);
      expect(lit).toBeLessThan(0.5);
      const listeners = (await topo.exec(topo.pod, ["ss", "-Htln"]))
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[3])
        .filter((a) => a?.endsWith(":5900"));
      expect(listeners).toEqual(["127.0.0.1:5900"]);

      // Armed and petted every second with a 10 s timeout: nothing fires while the daemon runs.
      expect(
        (await b.console.run("watchdog -T 10 -t 1 /dev/watchdog && sleep 3 && pidof watchdog", 30_000))
          .exitCode,
      ).toBe(0);
      const before = await status(vm);
      expect(before.watchdog).toBeUndefined();
      const resetsBefore = before.resets;
      // SIGKILL: the device is closed without the magic 'V', so the timer keeps running and nobody pets it.
      b.console.write("kill -9 $(pidof watchdog)\n");
      const fired = await eventually(
        async () => {
          const s = await status(vm);
          if (!s.watchdog || s.resets <= resetsBefore) throw new Error("the watchdog has not fired yet");
          return s;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      const firedMs = Date.now() - b.startedAt;
      expect(fired.watchdog).toMatchObject({ fired: 1, lastAction: "reset" });
      expect(fired.phase).toBe("running");
      expect(fired.events.map((e) => e.event)).toEqual(expect.arrayContaining(["WATCHDOG", "RESET"]));
      // The reset rebooted the guest in the same QEMU: a second boot report on the console.
      await b.console.waitForReady(BOOT_MS);
      console.log(
        `[figures] VNC frame ${(lit * 100).toFixed(1)} % lit; generic guest: ready ${(readyMs / 1000).toFixed(1)} s after the launcher started; ` +
          `watchdog reset at ${(firedMs / 1000).toFixed(1)} s; second boot ready at ${((Date.now() - b.startedAt) / 1000).toFixed(1)} s`,
      );
    },
    2 * BOOT_MS + 180_000,
  );

  it(
    "action poweroff: the launcher ends with the watchdog's exit code and termination message",
    async () => {
      topo = await createTopology();
      const vm = await prepare(topo, "wd-poweroff", "poweroff");
      const b = await boot(topo, vm, 1);
      boots.push(b);
      await b.console.waitForShell(BOOT_MS);
      // Armed with a 3 s timeout and petted once: then never again.
      b.console.write("watchdog -T 3 -t 3600 /dev/watchdog\n");
      expect(await b.exited(120_000)).toBe(EXIT.WATCHDOG);
      expect(await readFile(join(vm.root, "termination-1"), "utf8")).toBe(
        "watchdog: the guest stopped petting its watchdog; action poweroff",
      );
    },
    BOOT_MS + 180_000,
  );
});
