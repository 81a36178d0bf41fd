/**
 * Secure boot refuses an unsigned image on the VM's disk. The disk is an EFI system partition (FAT, made with
 * dosfstools and mtools) holding a Linux kernel as \EFI\BOOT\BOOTX64.EFI, the removable-media path OVMF boots
 * on its own. The kernel is the test guest's (Debian's, signed with Debian's key); an unsigned copy has its
 * Authenticode signature taken off. On the launcher's argv (golden shapes "uefi" and "uefi-secureboot", the
 * latter Debian's OVMF with Microsoft's keys enrolled) OVMF without secure boot starts the unsigned image;
 * with secure boot it refuses it, and it refuses the Debian-signed one too (Debian's key is not in db: only
 * shim, signed by Microsoft, may start it). The signed shim+GRUB boot is real-image-uefi's (slow tier).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { spawnQemu } from "../../launcher/qemu/process.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { shapes } from "../golden/qemu/shapes.ts";

const root = mkdtempSync(join(tmpdir(), "vireo-sb-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const BOOT_TIMEOUT_MS = 240_000;
// eslint-disable-next-line no-control-regex -- ANSI escapes start with ESC, a control character by definition
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * The PE image without its Authenticode signature: the certificate table's data directory entry zeroed and
 * the table (at the end of the file) cut off. Hand-written because sbsigntool is not on this machine; the
 * layout is the PE/COFF spec's (optional header at e_lfanew + 24, data directory 4 = certificate table).
 */
function unsigned(pe: Buffer): Buffer {
  const opt = pe.readUInt32LE(0x3c) + 24;
  const dir = opt + (pe.readUInt16LE(opt) === 0x20b ? 112 : 96) + 4 * 8;
  const [addr, size] = [pe.readUInt32LE(dir), pe.readUInt32LE(dir + 4)];
  expect(size, "the kernel carries a signature").toBeGreaterThan(0);
  const out = Buffer.from(pe.subarray(0, addr));
  out.writeUInt32LE(0, dir);
  out.writeUInt32LE(0, dir + 4);
  return out;
}

/** A 32 MiB FAT ESP with `efi` as \EFI\BOOT\BOOTX64.EFI. */
function esp(path: string, efi: Buffer): void {
  const app = `${path}.efi`;
  writeFileSync(app, efi);
  execFileSync("truncate", ["-s", "32M", path]);
  execFileSync("mkfs.vfat", [path], { stdio: "ignore" });
  execFileSync("mmd", ["-i", path, "::/EFI", "::/EFI/BOOT"]);
  execFileSync("mcopy", ["-i", path, app, "::/EFI/BOOT/BOOTX64.EFI"]);
}

/** Boots the ESP on a shape's argv and returns the serial output once `until` shows. */
async function bootOutput(name: string, secureBoot: boolean, disk: string, until: RegExp): Promise<string> {
  const dir = join(root, name);
  const all = shapes({ root: dir, blockDevice: "/dev/null", kernel: "/none", initrd: "/none" });
  const shape = all.find((s) => s.name === (secureBoot ? "uefi-secureboot" : "uefi"))!;
  const { config } = shape;
  const inputs = {
    ...shape.inputs,
    nics: [],
    disks: [
      {
        name: "root",
        path: disk,
        format: "raw" as const,
        driver: "file" as const,
        bus: "virtio" as const,
        readOnly: false,
        serial: "root",
        bootOrder: 1,
        cache: "writeback" as const,
        aio: "threads" as const,
        discard: false,
      },
    ],
  };
  for (const p of Object.values(config.paths)) mkdirSync(p, { recursive: true });
  mkdirSync(dirname(inputs.files.uefiVars), { recursive: true });
  copyFileSync(inputs.firmware.ovmfVarsTemplate, inputs.files.uefiVars);
  const qemu = await spawnQemu(buildQemuArgs(config, inputs));
  try {
    const qmp = await QmpClient.connect(inputs.files.qmpSocket, { connectTimeoutMs: 30_000 });
    let out = "";
    const serial = connect(inputs.files.serialSocket);
    serial.setEncoding("utf8");
    const seen = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${until} in the serial output:\n${out.slice(-3000)}`)),
        BOOT_TIMEOUT_MS,
      );
      serial.on("data", (d: string) => {
        // OVMF draws with ANSI escapes; drop them so the firmware's messages match as text.
        out += d.replace(ANSI, "");
        if (until.test(out)) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    await new Promise((r) => serial.once("connect", r));
    await qmp.execute("cont");
    try {
      return await seen;
    } finally {
      serial.destroy();
      qmp.close();
    }
  } finally {
    qemu.kill("SIGKILL");
    await qemu.exited;
  }
}

describe("secure boot with Microsoft's keys refuses an unsigned image on the disk", () => {
  const kernel = readFileSync(guestArtifacts().kernel);
  const unsignedDisk = join(root, "unsigned.img");
  const signedDisk = join(root, "debian-signed.img");
  esp(unsignedDisk, unsigned(kernel));
  esp(signedDisk, kernel);
  const REFUSED = /failed to load Boot\d+ "[^"]*" from [^\n]*: (Access Denied|Security Violation)/;

  it("without secure boot, OVMF starts the unsigned image (the control)", async () => {
    // The kernel's EFI stub runs: it exits boot services and the kernel starts, which OVMF reports first.
    const out = await bootOutput("plain", false, unsignedDisk, /starting Boot\d+ "[^"]*" from /);
    expect(out).not.toMatch(REFUSED);
  });

  it("with secure boot, OVMF refuses the unsigned image", async () => {
    const out = await bootOutput("sb-unsigned", true, unsignedDisk, REFUSED);
    expect(out).not.toMatch(/starting Boot\d+ "UEFI/);
  });

  it("with secure boot, OVMF refuses the kernel signed by Debian's key (not in Microsoft's db)", async () => {
    await bootOutput("sb-debian", true, signedDisk, REFUSED);
  });
});
