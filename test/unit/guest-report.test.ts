import { describe, expect, it } from "vitest";
import {
  GuestReportError,
  cleanConsoleText,
  parseGuestReport,
  parseGuestReportLine,
} from "../guest/report.ts";

// Lines as the test guest printed them on a real boot (q35, TCG), including SeaBIOS's terminal
// reset in front of the first report line and the tty's carriage returns.
const transcript = [
  "\x1bc\x1b[?7l\x1b[2JVIREO-GUEST modules loaded=28 failed=\r",
  "VIREO-GUEST boot kernel=6.1.0-56-cloud-amd64 hostname=g1 id=e56671d1 build=k-abc uptime_ms=1920\r",
  "VIREO-GUEST cpus=2\r",
  "VIREO-GUEST mem_kb=222376\r",
  "[    2.914541] input: Power Button as /devices/LNXSYSTM:00/LNXPWRBN:00/input/input2\r",
  "VIREO-GUEST virtio name=virtio0 device=0x0002 driver=virtio_blk\r",
  "VIREO-GUEST pvpanic driver=pvpanic-mmio device=QEMU0001:00\r",
  "VIREO-GUEST rng available=virtio_rng.0 current=virtio_rng.0\r",
  "VIREO-GUEST disk name=vda size_bytes=67108864 ro=0 removable=0 type=disk driver=virtio_blk serial=data1\r",
  "VIREO-GUEST disk name=sr0 size_bytes=374784 ro=1 removable=1 type=cdrom driver=sr serial=my%20cd%25\r",
  "VIREO-GUEST nic name=eth0 mac=52:54:00:aa:bb:cc mtu=1500 driver=virtio_net\r",
  "VIREO-GUEST acpi power_button=1 handler=acpid\r",
  "VIREO-GUEST route iface=eth0 dst=192.168.77.0/24 via=10.99.0.1 ok=1\r",
  "VIREO-GUEST route iface=eth0 dst=0.0.0.0/0 via=10.99.0.1 ok=0\r",
  "VIREO-GUEST addr iface=eth0 ip=10.99.0.54 prefix=24 router=10.99.0.1 dns=10.99.0.1,10.99.0.2 domain= " +
    "search=example.test,svc.test mtu=1400 lease_s=3600 server=10.99.0.1 event=bound uptime_ms=5370 dhcp_ms=3200\r",
  "VIREO-GUEST http port=8080\r",
  "VIREO-GUEST write dev=vda bytes=5 ok=1\r",
  "VIREO-GUEST read dev=vda len=5 hex=68656c6c6f\r",
  "VIREO-GUEST ready uptime_ms=2240\r",
  "VIREO-GUEST shell tty=ttyS0 uptime_ms=2270\r",
  "vireo# \x1b[6nVIREO-GUEST acpi event=power-button action=poweroff uptime_ms=2400\r",
  "VIREO-GUEST shutdown uptime_ms=2430\r",
  "VIREO-GUEST halted uptime_ms=2440\r",
];

describe("parseGuestReport", () => {
  const report = parseGuestReport(transcript);

  it("reads the machine facts", () => {
    expect(report.cpus).toBe(2);
    expect(report.memKb).toBe(222376);
    expect(report.modules).toEqual({ loaded: 28, failed: [] });
    expect(report.boot).toEqual({
      kernel: "6.1.0-56-cloud-amd64",
      hostname: "g1",
      id: "e56671d1",
      build: "k-abc",
      uptimeMs: 1920,
    });
    expect(report.virtio).toEqual([{ name: "virtio0", device: "0x0002", driver: "virtio_blk" }]);
    expect(report.pvpanic).toEqual([{ driver: "pvpanic-mmio", device: "QEMU0001:00" }]);
    expect(report.rng).toEqual({ available: ["virtio_rng.0"], current: "virtio_rng.0" });
  });

  it("reads disks with flags and percent-decoded serials", () => {
    expect(report.disks).toEqual([
      {
        name: "vda",
        sizeBytes: 67108864,
        readOnly: false,
        removable: false,
        type: "disk",
        driver: "virtio_blk",
        serial: "data1",
      },
      {
        name: "sr0",
        sizeBytes: 374784,
        readOnly: true,
        removable: true,
        type: "cdrom",
        driver: "sr",
        serial: "my cd%",
      },
    ]);
  });

  it("reads NICs, the lease and its routes", () => {
    expect(report.nics).toEqual([
      { name: "eth0", mac: "52:54:00:aa:bb:cc", mtu: 1500, driver: "virtio_net" },
    ]);
    expect(report.addresses).toEqual([
      {
        iface: "eth0",
        ip: "10.99.0.54",
        prefix: 24,
        routers: ["10.99.0.1"],
        dns: ["10.99.0.1", "10.99.0.2"],
        domain: "",
        search: ["example.test", "svc.test"],
        mtu: 1400,
        leaseSeconds: 3600,
        server: "10.99.0.1",
        event: "bound",
        uptimeMs: 5370,
        dhcpMs: 3200,
      },
    ]);
    expect(report.routes).toEqual([
      { iface: "eth0", dst: "192.168.77.0/24", via: "10.99.0.1", ok: true },
      { iface: "eth0", dst: "0.0.0.0/0", via: "10.99.0.1", ok: false },
    ]);
  });

  it("reads behaviour and lifecycle lines", () => {
    expect(report.acpi).toEqual({ powerButton: true, handler: "acpid" });
    expect(report.http).toEqual({ port: 8080 });
    expect(report.writes).toEqual([{ dev: "vda", bytes: 5, ok: true }]);
    expect(report.reads.map((r) => [r.dev, r.len, r.data.toString("utf8")])).toEqual([["vda", 5, "hello"]]);
    expect(report.ready).toBe(true);
    expect(report.readyUptimeMs).toBe(2240);
    expect(report.shell).toBe(true);
    expect(report.halted).toBe(true);
    expect(report.panicTriggered).toBe(false);
    expect(report.initError).toBeUndefined();
  });

  it("keeps every report line, including kinds it has no structure for, and skips other lines", () => {
    expect(report.records.map((r) => r.kind)).toContain("shutdown");
    expect(report.records.find((r) => r.kind === "shutdown")?.fields).toEqual({ uptime_ms: "2430" });
    expect(report.records).toHaveLength(transcript.length - 1);
    expect(report.records.filter((r) => r.kind === "acpi").map((r) => r.fields.event)).toEqual([
      undefined,
      "power-button",
    ]);
  });

  it("accepts one string as well as lines", () => {
    expect(parseGuestReport(transcript.join("\n")).disks).toHaveLength(2);
  });

  it("starts empty and not ready", () => {
    const empty = parseGuestReport(["[    0.000000] Linux version 6.1.0", "vireo# ls"]);
    expect(empty.ready).toBe(false);
    expect(empty.records).toEqual([]);
    expect(empty.cpus).toBeUndefined();
  });

  it("rejects a known kind with a malformed field, naming the field", () => {
    let error: unknown;
    try {
      parseGuestReport([
        "VIREO-GUEST disk name=vda size_bytes=lots ro=0 removable=0 type=disk driver=x serial=",
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuestReportError);
    expect((error as GuestReportError).code).toBe("GUEST_REPORT_INVALID");
    expect((error as GuestReportError).path).toBe("disk.size_bytes");
  });

  it("reports an init error status", () => {
    expect(parseGuestReport(["VIREO-GUEST init_error status=2"]).initError).toBe(2);
  });
});

describe("parseGuestReportLine", () => {
  it("needs the prefix at the start of the (cleaned) line or right after a shell prompt", () => {
    expect(parseGuestReportLine("vireo# echo VIREO-GUEST cpus=9")).toBeUndefined();
    expect(parseGuestReportLine("vireo# \x1b[6nVIREO-GUEST halted")?.kind).toBe("halted");
    expect(parseGuestReportLine("VIREO-GUESTS cpus=9")).toBeUndefined();
    expect(parseGuestReportLine("  VIREO-GUEST cpus=9\r")?.fields).toEqual({ cpus: "9" });
  });

  it("treats a leading key=value as the kind", () => {
    expect(parseGuestReportLine("VIREO-GUEST mem_kb=5")).toMatchObject({
      kind: "mem_kb",
      fields: { mem_kb: "5" },
    });
  });
});

describe("cleanConsoleText", () => {
  it("drops escape sequences and control characters but keeps newlines and tabs", () => {
    expect(cleanConsoleText("\x1bc\x1b[?7l\x1b[2Ja\tb\r\nc\x1b[6n\x07")).toBe("a\tb\nc");
  });
});
