/**
 * Boot order decided by the real firmware: two bootable disks (one on SATA, one on virtio), each holding an
 * MBR boot sector that names its disk on the serial port; SeaBIOS, started by the launcher binary, boots the
 * disk with `bootOrder: 1` (QEMU's bootindex), and swapping the orders swaps the boot. A boot sector instead of
 * two operating systems: the firmware's choice is the whole point, and it takes seconds rather than minutes.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { podPaths } from "../../crds/contract/index.ts";
import { launcherConfigSchema } from "../../crds/launcher/config.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { freePort } from "../harness/ports.ts";

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

const root = await mkdtemp(join(tmpdir(), "vireo-boot-order-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** Boots with disk-a (SATA) and disk-b (virtio) at the given boot orders; returns the name that booted. */
async function bootedDisk(run: string, orders: { a: number; b: number }): Promise<string> {
  const dir = join(root, run);
  const disks = [];
  for (const [name, bus, bootOrder] of [
    ["disk-a", "sata", orders.a],
    ["disk-b", "virtio", orders.b],
  ] as const) {
    const mountPath = join(dir, "claims", name);
    await mkdir(mountPath, { recursive: true });
    await writeFile(join(mountPath, "disk.img"), bootSector(name));
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
    vm: { namespace: "test", name: run, uid: "5d1f0c8e-7b2a-4e39-9f61-0a4c2e8b7d13" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "max" },
    memory: { guestBytes: 64 << 20 },
    boot: { kind: "bios" },
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
