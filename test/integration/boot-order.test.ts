/**
 * Boot order decided by the real firmware: two bootable disks (one on SATA, one on virtio), each naming itself
 * on the serial port when booted — an MBR boot sector for SeaBIOS, a UEFI application on an EFI System
 * partition for OVMF. The launcher binary starts the VM; the firmware boots the disk with `bootOrder: 1`
 * (QEMU's bootindex), and swapping the orders swaps the boot. A boot sector instead of
 * two operating systems: the firmware's choice is the whole point, and it takes seconds rather than minutes.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { podPaths } from "../../crds/contract/index.ts";
import { launcherConfigSchema } from "../../crds/launcher/config.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));

/**
 * A 16-bit boot sector (loaded at 0:7c00) that writes `VIREO-BOOT <name>` to COM1 (0x3f8) and halts.
 * Hand-assembled (no assembler on the machine is needed for 23 bytes of code):
 *   xor ax,ax; mov ds,ax; cld; mov dx,0x3f8; mov si,0x7c17
 *   next: lodsb; test al,al; jz done; out dx,al; jmp next
 *   done: cli; hlt; jmp done
 */
function bootSector(name: string): Buffer {
  const code = [
    0x31, 0xc0, 0x8e, 0xd8, 0xfc, 0xba, 0xf8, 0x03, 0xbe, 0x17, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee,
    0xeb, 0xf8, 0xfa, 0xf4, 0xeb, 0xfd,
  ];
  const sector = Buffer.alloc(1 << 20); // a 1 MiB disk: the sector, then zeros
  Buffer.from(code).copy(sector, 0);
  sector.write(`VIREO-BOOT ${name}\r\n\0`, code.length, "latin1");
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/**
 * The smallest UEFI application: a PE32+ image (one .text section, no relocations: the code is RIP-relative)
 * whose entry calls SystemTable->ConOut->OutputString(L"VIREO-BOOT <name>") and spins. OVMF's console goes to
 * the serial port. Hand-assembled for the same reason as the boot sector:
 *   sub rsp,0x28; mov rcx,[rdx+0x40]; lea rdx,[rip+5]; call [rcx+8]; jmp $
 */
function efiApp(name: string): Buffer {
  const img = Buffer.alloc(0x400);
  img.write("MZ", 0, "latin1");
  img.writeUInt32LE(0x40, 0x3c); // e_lfanew
  img.write("PE\0\0", 0x40, "latin1");
  img.writeUInt16LE(0x8664, 0x44); // machine: x86-64
  img.writeUInt16LE(1, 0x46); // one section
  img.writeUInt16LE(0xf0, 0x54); // size of the optional header
  img.writeUInt16LE(0x0022, 0x56); // executable, large-address-aware (relocations not stripped)
  const o = 0x58;
  img.writeUInt16LE(0x20b, o); // PE32+
  img.writeUInt32LE(0x200, o + 4); // size of code
  img.writeUInt32LE(0x1000, o + 16); // entry point
  img.writeUInt32LE(0x1000, o + 20); // base of code
  img.writeBigUInt64LE(0x10000000n, o + 24); // image base
  img.writeUInt32LE(0x1000, o + 32); // section alignment
  img.writeUInt32LE(0x200, o + 36); // file alignment
  img.writeUInt32LE(0x2000, o + 56); // size of image
  img.writeUInt32LE(0x200, o + 60); // size of headers
  img.writeUInt16LE(10, o + 68); // subsystem: EFI application
  img.writeBigUInt64LE(0x10000n, o + 72); // stack reserve
  img.writeBigUInt64LE(0x10000n, o + 80); // stack commit
  img.writeUInt32LE(16, o + 108); // data directories (all empty)
  const sh = o + 0xf0;
  img.write(".text", sh, "latin1");
  img.writeUInt32LE(0x200, sh + 8); // virtual size
  img.writeUInt32LE(0x1000, sh + 12); // virtual address
  img.writeUInt32LE(0x200, sh + 16); // size of raw data
  img.writeUInt32LE(0x200, sh + 20); // pointer to raw data
  img.writeUInt32LE(0x60000020, sh + 36); // code, execute, read
  const code = [
    0x48, 0x83, 0xec, 0x28, 0x48, 0x8b, 0x4a, 0x40, 0x48, 0x8d, 0x15, 0x05, 0x00, 0x00, 0x00, 0xff, 0x51,
    0x08, 0xeb, 0xfe,
  ];
  Buffer.from(code).copy(img, 0x200);
  img.write(`VIREO-BOOT ${name}\r\n\0`, 0x200 + code.length, "utf16le");
  return img;
}

/** An 8 MiB disk: an MBR with one EFI System partition at 1 MiB holding \EFI\BOOT\BOOTX64.EFI. */
async function espDisk(dir: string, name: string): Promise<Buffer> {
  const app = join(dir, `${name}.efi`);
  const part = join(dir, `${name}.esp`);
  await writeFile(app, efiApp(name));
  await run("mkfs.vfat", ["-C", part, String(7 * 1024)]);
  await run("mmd", ["-i", part, "::/EFI", "::/EFI/BOOT"]);
  await run("mcopy", ["-i", part, app, "::/EFI/BOOT/BOOTX64.EFI"]);
  const disk = join(dir, `${name}.disk`);
  await writeFile(disk, Buffer.concat([Buffer.alloc(1 << 20), await readFile(part)]));
  await run("sh", ["-c", 'printf "label: dos\\nstart=2048, type=ef\\n" | sfdisk -q "$1"', "sh", disk]);
  return readFile(disk);
}

const root = await mkdtemp(join(tmpdir(), "vireo-boot-order-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** Boots with disk-a (SATA) and disk-b (virtio) at the given boot orders; returns the name that booted. */
async function bootedDisk(
  vmName: string,
  orders: { a: number; b: number },
  firmware: "bios" | "uefi" = "bios",
): Promise<string> {
  const dir = join(root, vmName);
  const disks = [];
  for (const [name, bus, bootOrder] of [
    ["disk-a", "sata", orders.a],
    ["disk-b", "virtio", orders.b],
  ] as const) {
    const mountPath = join(dir, "claims", name);
    await mkdir(mountPath, { recursive: true });
    await writeFile(
      join(mountPath, "disk.img"),
      firmware === "bios" ? bootSector(name) : await espDisk(dir, name),
    );
    disks.push({
      name,
      bus,
      bootOrder,
      readOnly: false,
      serial: name,
      source: { kind: "pvcFilesystem", mountPath, claimName: name },
    });
  }
  const config = launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "test", name: vmName, uid: "5d1f0c8e-7b2a-4e39-9f61-0a4c2e8b7d13" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "max" },
    memory: { guestBytes: 64 << 20 },
    boot: firmware === "bios" ? { kind: "bios" } : { kind: "uefi", secureBoot: false },
    disks,
    interfaces: [],
    devices: {
      serialConsole: true,
      vnc: false,
      rng: false,
      balloon: { enabled: false, statsPollSeconds: 0 },
    },
    terminationGracePeriodSeconds: 0,
    paths: podPaths(dir),
    http: { port: await freePort() },
  });
  const configFile = join(dir, "config.json");
  await writeFile(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, [BIN, "--config", configFile], {
    env: { ...process.env, VIREO_ACCEL: "tcg" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let console: SerialConsole | undefined;
  try {
    console = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 60_000,
    });
    const m = await console.waitFor(/VIREO-BOOT (disk-[ab])/, 120_000);
    return m[1]!;
  } catch (err) {
    throw new Error(`no boot sector ran; launcher output:\n${out.slice(-3000)}`, { cause: err });
  } finally {
    console?.close();
    child.kill("SIGKILL"); // QEMU follows through its parent-death signal
    await exited;
  }
}

describe("boot order through SeaBIOS (the launcher binary, TCG)", () => {
  it("boots the disk with bootOrder 1: the SATA disk first, then, swapped, the virtio disk", async () => {
    expect(await bootedDisk("a-first", { a: 1, b: 2 })).toBe("disk-a");
    expect(await bootedDisk("b-first", { a: 2, b: 1 })).toBe("disk-b");
  }, 300_000);
});

describe("boot order through OVMF (the launcher binary, TCG)", () => {
  it("boots the disk with bootOrder 1 (its \\EFI\\BOOT\\BOOTX64.EFI), and swapped, the other", async () => {
    expect(await bootedDisk("uefi-a-first", { a: 1, b: 2 }, "uefi")).toBe("disk-a");
    expect(await bootedDisk("uefi-b-first", { a: 2, b: 1 }, "uefi")).toBe("disk-b");
  }, 600_000);
});
