import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { guestArtifacts } from "../guest/artifacts.ts";
import { parseGuestReport } from "../guest/report.ts";
import { startTestQemu, type TestQemu, type TestQemuOptions } from "../guest/test-qemu.ts";

// The test guest itself (scripts/guest), booted with a plain QEMU command line under TCG: what it
// reports, its console shell, the ACPI power button and panics. Other tests build on these.

const BOOT_MS = 240_000; // TCG on a busy two-core machine
const COMMAND_MS = 60_000;
const MiB = 1024 * 1024;

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offset);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      return await response.text();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await sleep(500);
    }
  }
}

describe("test guest under QEMU (TCG)", () => {
  const running: TestQemu[] = [];
  const dirs: string[] = [];

  beforeAll(() => {
    guestArtifacts(); // fails with "run scripts/guest/build.sh" when the guest is not built
  });

  afterEach(async () => {
    for (const qemu of running.splice(0)) await qemu.kill();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function workDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "vireo-guest-"));
    dirs.push(dir);
    return dir;
  }

  async function boot(options: TestQemuOptions): Promise<TestQemu> {
    const qemu = await startTestQemu(options);
    running.push(qemu);
    onTestFailed(() => {
      console.error(`--- guest console (${qemu.argv.join(" ")}) ---\n${qemu.serial.transcript.slice(-6000)}`);
      console.error(`--- qemu stderr ---\n${qemu.stderr()}`);
    });
    return qemu;
  }

  it("reports its devices, runs shell commands and powers off on the ACPI power button", async () => {
    const dir = workDir();
    const data = join(dir, "data.raw");
    writeFileSync(data, "");
    truncateSync(data, 64 * MiB);
    const seed = join(dir, "seed.raw");
    writeFileSync(seed, Buffer.concat([Buffer.from("seed-content"), Buffer.alloc(MiB - 12)]));
    writeFileSync(join(dir, "meta-data"), "instance-id: guest-test\nlocal-hostname: guest-test\n");
    writeFileSync(join(dir, "user-data"), "#cloud-config\n");
    const iso = join(dir, "cidata.iso");
    const isoFiles = [join(dir, "meta-data"), join(dir, "user-data")];
    execFileSync("xorrisofs", [
      "-quiet",
      "-output",
      iso,
      "-volid",
      "cidata",
      "-joliet",
      "-rock",
      ...isoFiles,
    ]);
    const port = await freeLoopbackPort();
    const id = randomBytes(4).toString("hex");

    const qemu = await boot({
      dir,
      cpus: 2,
      memoryMiB: 256,
      append: [
        "vireo.dhcp=1",
        "vireo.http=8080",
        "vireo.hostname=guest-test",
        `vireo.id=${id}`,
        "vireo.write=vda:vireo-cmdline-write",
        "vireo.read=vdb:12",
      ],
      // prettier-ignore
      args: [
        "-drive", `file=${data},if=none,id=data,format=raw`,
        "-device", "virtio-blk-pci,drive=data,serial=data1",
        "-drive", `file=${seed},if=none,id=seed,format=raw,readonly=on`,
        "-device", "virtio-blk-pci,drive=seed,serial=seed1",
        "-device", "virtio-scsi-pci,id=scsi0",
        "-drive", `file=${iso},if=none,id=cidata,format=raw,readonly=on,media=cdrom`,
        "-device", "scsi-cd,drive=cidata,bus=scsi0.0",
        // User-mode networking restricted to the guest and loopback port forwards: no host
        // interfaces, nothing leaves the machine.
        "-netdev", `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:8080`,
        "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:01",
        "-device", "virtio-rng-pci",
      ],
    });

    const report = await qemu.serial.waitForReady(BOOT_MS);
    expect(report.cpus).toBe(2);
    // MemTotal is what the kernel leaves after its own reservations.
    expect(report.memKb).toBeGreaterThan(256 * 1024 * 0.75);
    expect(report.memKb).toBeLessThanOrEqual(256 * 1024);
    expect(report.modules?.failed).toEqual([]);
    expect(report.boot).toMatchObject({ hostname: "guest-test", id });
    expect(report.disks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "vda", sizeBytes: 64 * MiB, readOnly: false, serial: "data1" }),
        expect.objectContaining({ name: "vdb", sizeBytes: MiB, readOnly: true, serial: "seed1" }),
        expect.objectContaining({ name: "sr0", type: "cdrom", readOnly: true }),
      ]),
    );
    expect(report.disks.find((d) => d.name === "vda")?.driver).toBe("virtio_blk");
    expect(report.nics).toEqual([
      { name: "eth0", mac: "52:54:00:12:34:01", mtu: 1500, driver: "virtio_net" },
    ]);
    expect(report.addresses).toEqual([
      expect.objectContaining({ iface: "eth0", ip: "10.0.2.15", prefix: 24 }),
    ]);
    expect(report.rng?.current).toMatch(/^virtio_rng/);
    expect(report.acpi).toEqual({ powerButton: true, handler: "acpid" });
    expect(report.http).toEqual({ port: 8080 });
    expect(report.writes).toEqual([{ dev: "vda", bytes: 19, ok: true }]);
    expect(report.reads.map((r) => r.data.toString())).toEqual(["seed-content"]);
    expect(readAt(data, 0, 19).toString()).toBe("vireo-cmdline-write");

    // HTTP through the loopback port forward names this guest.
    const page = await fetchText(`http://127.0.0.1:${port}/`, COMMAND_MS);
    expect(page).toContain("hostname=guest-test");
    expect(page).toContain(`id=${id}`);

    // Drive the shell: write a pattern through the udev-style link, sync, read it back in the
    // guest and on the host side of the virtual disk.
    await qemu.serial.waitForShell(BOOT_MS);
    const pattern = `pattern-${id}`;
    const write = await qemu.serial.run(
      `printf '%s' '${pattern}' | dd of=/dev/disk/by-id/virtio-data1 bs=512 seek=2048 conv=notrunc,fsync 2>/dev/null && sync`,
      COMMAND_MS,
    );
    expect(write).toEqual({ exitCode: 0, output: "" });
    const readBack = await qemu.serial.run(
      `dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c ${pattern.length}`,
      COMMAND_MS,
    );
    expect(readBack).toEqual({ exitCode: 0, output: pattern });
    expect(readAt(data, 2048 * 512, pattern.length).toString()).toBe(pattern);

    const readOnly = await qemu.serial.run("printf x | dd of=/dev/vdb conv=notrunc,fsync", COMMAND_MS);
    expect(readOnly.exitCode).not.toBe(0);
    const iso9660 = await qemu.serial.run(
      "mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/meta-data",
      COMMAND_MS,
    );
    expect(iso9660).toEqual({ exitCode: 0, output: "instance-id: guest-test\nlocal-hostname: guest-test\n" });

    // ACPI power button: acpid -> poweroff -> the shutdown script -> ACPI S5.
    await qemu.qmp.execute("system_powerdown");
    const shutdown = await qemu.waitForEvent("SHUTDOWN", BOOT_MS);
    expect(shutdown.data).toMatchObject({ guest: true, reason: "guest-shutdown" });
    expect(await qemu.exited).toEqual({ code: 0, signal: null });
    await qemu.serial.waitFor(/^VIREO-GUEST halted/m, COMMAND_MS);
    const final = parseGuestReport(qemu.serial.lines());
    expect(final.halted).toBe(true);
    expect(final.records.some((r) => r.kind === "acpi" && r.fields.event === "power-button")).toBe(true);
  });

  it("powers off cleanly on a press that comes while /init is still PID 1 (before ready)", async () => {
    // The NIC sits alone on a QEMU hub, so DHCP gets no answer and /init waits in its DHCP step for
    // vireo.dhcp_timeout: the press reliably lands while PID 1 is still the /init script.
    const qemu = await boot({
      dir: workDir(),
      append: ["vireo.dhcp=1", "vireo.dhcp_timeout=30"],
      args: ["-netdev", "hubport,id=net0,hubid=0", "-device", "virtio-net-pci,netdev=net0"],
    });
    // The earliest moment a press can count: QEMU drops one while the guest kernel has not enabled the
    // power button event (before the `button` driver loads), and /init loads it and starts acpid first,
    // reporting this line before anything else it does.
    await qemu.serial.waitFor(/^VIREO-GUEST acpi power_button=1 handler=acpid/m, BOOT_MS);
    await qemu.qmp.execute("system_powerdown");
    const shutdown = await qemu.waitForEvent("SHUTDOWN", BOOT_MS);
    expect(shutdown.data).toMatchObject({ guest: true, reason: "guest-shutdown" });
    expect(await qemu.exited).toEqual({ code: 0, signal: null });
    await qemu.serial.waitFor(/^VIREO-GUEST halted/m, COMMAND_MS);
    const lines = qemu.serial.lines();
    const press = lines.findIndex((l) => l.startsWith("VIREO-GUEST acpi event=power-button"));
    const ready = lines.findIndex((l) => l.startsWith("VIREO-GUEST ready"));
    expect(press, "the handler reported the press").toBeGreaterThanOrEqual(0);
    expect(lines[press]).toContain("init=script");
    // Handled before "ready", i.e. while /init ran; the shutdown waited for busybox init and was clean.
    expect(ready).toBeGreaterThan(press);
    expect(parseGuestReport(lines).halted).toBe(true);
  });

  it("ignores the power button with vireo.acpi=ignore", async () => {
    const qemu = await boot({ dir: workDir(), append: ["vireo.acpi=ignore"] });
    const report = await qemu.serial.waitForReady(BOOT_MS);
    expect(report.acpi).toEqual({ powerButton: true, handler: "ignore" });
    await qemu.serial.waitForShell(BOOT_MS);
    await qemu.qmp.execute("system_powerdown");
    // The guest kernel counts fixed-event power button presses: once it saw the press, it is
    // known to have ignored it, and the guest still answers.
    const deadline = Date.now() + COMMAND_MS;
    let presses = 0;
    while (presses < 1 && Date.now() < deadline) {
      const counter = await qemu.serial.check("cat /sys/firmware/acpi/interrupts/ff_pwr_btn", COMMAND_MS);
      presses = Number(counter.trim().split(/\s+/)[0]);
      if (presses < 1) await sleep(500);
    }
    expect(presses).toBeGreaterThanOrEqual(1);
    expect(await qemu.serial.run("echo alive", COMMAND_MS)).toEqual({ exitCode: 0, output: "alive\n" });
    expect(qemu.events.map((e) => e.event)).not.toContain("SHUTDOWN");
  });

  it("panics on vireo.panic=1 and QEMU reports GUEST_PANICKED through pvpanic", async () => {
    const qemu = await boot({ dir: workDir(), append: ["vireo.panic=1"], args: ["-device", "pvpanic"] });
    const panicked = await qemu.waitForEvent("GUEST_PANICKED", BOOT_MS);
    // QEMU's default panic action (7.2) is to shut the machine down after the event.
    expect(panicked.data).toMatchObject({ action: "poweroff" });
    const shutdown = await qemu.waitForEvent("SHUTDOWN", BOOT_MS);
    expect(shutdown.data).toMatchObject({ guest: true, reason: "guest-panic" });
    expect((await qemu.exited).code).toBe(0);
    await qemu.serial.waitFor(/Kernel panic - not syncing: sysrq triggered crash/, COMMAND_MS);
    const report = parseGuestReport(qemu.serial.lines());
    expect(report.pvpanic).toEqual([{ driver: "pvpanic-mmio", device: "QEMU0001:00" }]);
    expect(report.panicTriggered).toBe(true);
  });

  it("without pvpanic, a panic shows on the console and panic=-1 with -no-reboot ends QEMU", async () => {
    const qemu = await boot({ dir: workDir(), append: ["vireo.panic=1"] });
    const shutdown = await qemu.waitForEvent("SHUTDOWN", BOOT_MS);
    expect(shutdown.data).toMatchObject({ guest: true, reason: "guest-reset" });
    expect((await qemu.exited).code).toBe(0);
    expect(qemu.events.map((e) => e.event)).not.toContain("GUEST_PANICKED");
    await qemu.serial.waitFor(/Kernel panic - not syncing: sysrq triggered crash/, COMMAND_MS);
    const report = parseGuestReport(qemu.serial.lines());
    expect(report.pvpanic).toEqual([]);
    expect(report.panicTriggered).toBe(true);
  });
});
