import { describe, expect, it } from "vitest";
import { classifyQemuMemory, parseSmaps } from "./smaps.ts";

// Trimmed from a real QEMU 7.2 (TCG, -m 1024M) on this machine: binary, heap, guest RAM, TCG code cache.
const SMAPS = `55f691b39000-55f691f40000 r--p 00000000 fe:00 10166413                   /usr/bin/qemu-system-x86_64
Size:               4124 kB
Rss:                4120 kB
Pss:                 900 kB
Anonymous:             0 kB
Swap:                  0 kB
55f6c8958000-55f6c96af000 rw-p 00000000 00:00 0                          [heap]
Size:              13660 kB
Rss:                4216 kB
Pss:                4216 kB
Anonymous:          4216 kB
7f8803e00000-7f8843e00000 rw-p 00000000 00:00 0 
Size:            1048576 kB
Rss:              137216 kB
Pss:              137216 kB
Anonymous:        137216 kB
7f8844000000-7f8883fff000 rwxp 00000000 00:00 0 
Size:            1048572 kB
Rss:               51200 kB
Pss:               51200 kB
Anonymous:         51200 kB
7f8888c5c000-7f8889a00000 rw-p 00000000 00:00 0 
Size:              13968 kB
Rss:               13968 kB
Pss:               13968 kB
Anonymous:         13968 kB
VmFlags: rd wr mr mw me ac sd
7f77f7e48000-7f77f8000000 r--p 00000000 fe:00 10508079                   /cache/guest/v1/initramfs.cpio.gz
Size:               1760 kB
Rss:                1760 kB
Pss:                1760 kB
Anonymous:             0 kB
`;

describe("smaps", () => {
  it("parses headers, paths and sizes", () => {
    const maps = parseSmaps(SMAPS);
    expect(maps).toHaveLength(6);
    expect(maps[0]).toMatchObject({ perms: "r--p", path: "/usr/bin/qemu-system-x86_64", rssKiB: 4120 });
    expect(maps[1]).toMatchObject({ path: "[heap]", sizeKiB: 13660, anonKiB: 4216 });
    expect(maps[3]).toMatchObject({ perms: "rwxp", path: "" });
    expect(maps[2]!.end - maps[2]!.start).toBe(BigInt(1024 * 1024 * 1024));
  });

  it("splits guest RAM, TCG cache and the rest", () => {
    const m = classifyQemuMemory(parseSmaps(SMAPS), 1024 * 2 ** 20);
    expect(m).toMatchObject({
      rssKiB: 4120 + 4216 + 137216 + 51200 + 13968 + 1760,
      guestRamRssKiB: 137216,
      tcgCacheRssKiB: 51200,
      kernelBootRssKiB: 0,
      otherRssKiB: 4120 + 4216 + 13968 + 1760,
      otherFileRssKiB: 4120 + 1760,
      otherPssKiB: 900 + 4216 + 13968 + 1760,
    });
    expect(m.guestRamMapping).toContain("1048576 kB");
  });

  it("finds no guest RAM when no mapping has its size", () => {
    const m = classifyQemuMemory(parseSmaps(SMAPS), 4096 * 2 ** 20);
    expect(m.guestRamRssKiB).toBe(0);
    expect(m.guestRamMapping).toBeUndefined();
    expect(m.otherRssKiB).toBe(4120 + 4216 + 137216 + 13968 + 1760);
  });

  it("finds the kernel copy inside a larger, merged mapping by its resident size", () => {
    // As seen under the launcher: 14860 KiB mapping, 13840 KiB resident, kernel file 13854 KiB.
    const merged = SMAPS.replace(/Size:\s+13968 kB\nRss:\s+13968 kB/, "Size: 14860 kB\nRss: 13840 kB");
    const m = classifyQemuMemory(parseSmaps(merged), 1024 * 2 ** 20, { kernelBytes: 14186432 });
    expect(m.kernelBootRssKiB).toBe(13840);
    expect(m.otherRssKiB).toBe(4120 + 4216 + 1760);
  });

  it("sets a directly booted kernel's copies apart: the kernel image and the initrd file", () => {
    // vmlinuz of 14186432 bytes (13854 KiB); QEMU's copy lacks the 18 KiB setup: 13836 KiB resident.
    const m = classifyQemuMemory(parseSmaps(SMAPS.replace(/13968/g, "13836")), 1024 * 2 ** 20, {
      kernelBytes: 14186432,
      initrdPath: "/cache/guest/v1/initramfs.cpio.gz",
    });
    expect(m.kernelBootRssKiB).toBe(13836 + 1760);
    expect(m.otherRssKiB).toBe(4120 + 4216);
    expect(m.guestRamRssKiB).toBe(137216);
  });
});
