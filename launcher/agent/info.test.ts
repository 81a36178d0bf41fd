import { describe, expect, it } from "vitest";
import { guestInfoSchema } from "../../crds/contract/guest-agent.ts";
import { filesystemsOf, hostnameOf, interfacesOf, osInfoOf, timezoneOf, usersOf } from "./info.ts";

describe("agent info", () => {
  it("maps qemu-guest-agent's answers (as Debian 12's agent sends them)", () => {
    const info = {
      osInfo: osInfoOf({
        name: "Debian GNU/Linux",
        "kernel-release": "6.1.0-28-cloud-amd64",
        "version-id": "12",
        "pretty-name": "Debian GNU/Linux 12 (bookworm)",
        version: "12 (bookworm)",
        "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1",
        machine: "x86_64",
        id: "debian",
      }),
      hostname: hostnameOf({ "host-name": "vm1" }),
      timezone: timezoneOf({ zone: "UTC", offset: 0 }),
      interfaces: interfacesOf([
        { name: "lo", "ip-addresses": [{ "ip-address-type": "ipv4", "ip-address": "127.0.0.1", prefix: 8 }] },
        {
          name: "enp1s0",
          "hardware-address": "52:54:00:12:34:56",
          "ip-addresses": [
            { "ip-address-type": "ipv4", "ip-address": "10.0.2.2", prefix: 24 },
            { "ip-address-type": "ipv6", "ip-address": "fe80::5054:ff:fe12:3456", prefix: 64 },
          ],
          statistics: { "rx-bytes": 1 },
        },
      ]),
      filesystems: filesystemsOf([
        {
          name: "vda1",
          mountpoint: "/",
          type: "ext4",
          "used-bytes": 1000,
          "total-bytes": 2000,
          disk: [{ "bus-type": "virtio", dev: "/dev/vda1", bus: 0 }],
        },
      ]),
      users: usersOf([{ user: "debian", "login-time": 1764680000.5 }]),
    };
    expect(info).toEqual({
      osInfo: {
        id: "debian",
        name: "Debian GNU/Linux",
        prettyName: "Debian GNU/Linux 12 (bookworm)",
        version: "12 (bookworm)",
        versionId: "12",
        kernelRelease: "6.1.0-28-cloud-amd64",
        kernelVersion: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1",
        machine: "x86_64",
      },
      hostname: "vm1",
      timezone: { zone: "UTC", offsetSeconds: 0 },
      interfaces: [
        { name: "enp1s0", mac: "52:54:00:12:34:56", ips: ["10.0.2.2", "fe80::5054:ff:fe12:3456"] },
      ],
      filesystems: [
        {
          name: "vda1",
          mountpoint: "/",
          type: "ext4",
          usedBytes: 1000,
          totalBytes: 2000,
          disks: ["/dev/vda1"],
        },
      ],
      users: [{ name: "debian", loginTime: 1764680000.5 }],
    });
    expect(guestInfoSchema.safeParse(info).success).toBe(true);
  });

  it("bounds what a hostile guest reports: long strings cut, lists capped, bad items skipped", () => {
    const long = "A".repeat(100_000);
    const ifaces = interfacesOf([
      "not an object",
      { name: 7 },
      ...Array.from({ length: 1000 }, (_, i) => ({
        name: `eth${i}${long}`,
        "ip-addresses": Array.from({ length: 1000 }, () => ({ "ip-address": long })),
      })),
    ]);
    expect(ifaces).toHaveLength(16);
    expect(ifaces?.[0]?.name).toHaveLength(256);
    expect(ifaces?.[0]?.ips).toHaveLength(16);
    const users = usersOf(Array.from({ length: 5000 }, (_, i) => ({ user: `u${i}` })));
    expect(users).toHaveLength(64);
    const info = { interfaces: ifaces, users, hostname: hostnameOf({ "host-name": long }) };
    expect(guestInfoSchema.safeParse(info).success).toBe(true);
    expect(osInfoOf("garbage")).toBeUndefined();
    expect(osInfoOf({ id: 5 })).toBeUndefined();
    expect(filesystemsOf({ not: "an array" })).toEqual([]);
    expect(timezoneOf({ offset: 3600.5 })).toBeUndefined();
  });
});
