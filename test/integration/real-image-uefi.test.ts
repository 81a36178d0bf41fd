/**
 * A real user's image through UEFI with secure boot: Debian's OVMF with Microsoft's keys enrolled starts
 * the image's signed shim from the removable path, shim starts Debian's signed GRUB, GRUB the signed kernel
 * (no kernelBoot), under TCG; cloud-init takes the hostname and SSH key from our NoCloud disk and sshd
 * answers at the pod IP.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createTopology, type Topology } from "../../launcher/network/testing/index.ts";
import {
  boot,
  type Boot,
  guestFacts,
  phases,
  prepareVm,
  type RealVm,
  removeVm,
  ssh,
  waitForSsh,
} from "./real-image-kit.ts";

/**
 * Opt-in (the slow tier's switch): under TCG on a busy 2-core host one boot of a real distribution takes
 * minutes (docs/images.md has the figures), more than the default tier's budget.
 */
const SLOW = process.env.VIREO_SLOW_TESTS === "1";
const BOOT_MS = 12 * 60_000;

describe.skipIf(!SLOW)("real image: Debian 12 cloud image through OVMF with secure boot (TCG)", () => {
  let topo: Topology | undefined;
  let vm: RealVm | undefined;
  const boots: Boot[] = [];

  afterAll(async () => {
    for (const b of boots) await b.stop();
    await removeVm(vm);
    await topo?.destroy();
  });

  it(
    "boots shim, GRUB and the kernel with secure boot on, takes hostname and SSH key from NoCloud",
    async () => {
      topo = await createTopology();
      vm = await prepareVm(topo, "deb-uefi", { uefi: { secureBoot: true } });
      const phase = phases();
      const b = await boot(topo, vm, 1);
      boots.push(b);
      await waitForSsh(topo, vm, b, BOOT_MS, "accept-new");
      phase("sshd");
      expect(await guestFacts(topo, vm)).toMatchObject({
        hostname: "deb-uefi",
        cloudInit: "done",
        cloudInitErrors: "",
        datasource: expect.stringMatching(/^DataSourceNoCloud \[seed=\/dev\/vd[a-z]\]/),
        firmware: "uefi",
        biosVendor: "EFI Development Kit II / OVMF",
        root: "/dev/vda1",
        cmdline: expect.stringMatching(/^BOOT_IMAGE=\/boot\/vmlinuz-\S+ root=UUID=/),
      });
      phase("cloud-init done");
      // Secure boot on: the firmware (Microsoft's keys only) ran shim, shim ran Debian's GRUB and kernel.
      expect((await ssh(topo, vm, "mokutil --sb-state; findmnt -no FSTYPE /boot/efi")).split("\n")).toEqual([
        "SecureBoot enabled",
        "vfat",
        "",
      ]);
      // A clean power-off is the SeaBIOS test's; afterAll stops this launcher.
      console.log(`[figures] real image, OVMF secure boot, TCG: ${phase.summary()}`);
    },
    BOOT_MS + 5 * 60_000,
  );
});
