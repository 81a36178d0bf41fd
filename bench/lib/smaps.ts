/**
 * Reading QEMU's memory from `/proc/<pid>/smaps`: which part is guest RAM, which part is TCG's translation
 * cache, and what is left, the real per-VM overhead. Pure parsing and classification; the file read is the
 * caller's.
 */

/** One mapping from smaps, sizes in KiB. */
export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  /** Backing file or pseudo-name (`[heap]`, `[stack]`); empty for anonymous memory. */
  path: string;
  sizeKiB: number;
  rssKiB: number;
  pssKiB: number;
  anonKiB: number;
  swapKiB: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+\S+\s+\S+\s+\d+\s*(.*)$/;
const FIELD = /^(\w+):\s+(\d+) kB$/;

/** Parses the text of `/proc/<pid>/smaps`. */
export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split("\n")) {
    const h = HEADER.exec(line);
    if (h) {
      cur = {
        start: BigInt(`0x${h[1]}`),
        end: BigInt(`0x${h[2]}`),
        perms: h[3]!,
        path: h[4]!.trim(),
        sizeKiB: 0,
        rssKiB: 0,
        pssKiB: 0,
        anonKiB: 0,
        swapKiB: 0,
      };
      out.push(cur);
      continue;
    }
    const f = FIELD.exec(line);
    if (!f || !cur) continue;
    const kib = Number(f[2]);
    if (f[1] === "Size") cur.sizeKiB = kib;
    else if (f[1] === "Rss") cur.rssKiB = kib;
    else if (f[1] === "Pss") cur.pssKiB = kib;
    else if (f[1] === "Anonymous") cur.anonKiB = kib;
    else if (f[1] === "Swap") cur.swapKiB = kib;
  }
  return out;
}

/** QEMU's resident memory split by what it is for, in KiB. */
export interface QemuMemory {
  /** All resident memory of the process (what `ps` shows). */
  rssKiB: number;
  pssKiB: number;
  /** Resident part of the guest RAM region (pages the guest has touched). */
  guestRamRssKiB: number;
  /** Resident part of TCG's translation-block cache (none under KVM). */
  tcgCacheRssKiB: number;
  /**
   * Direct kernel boot only: QEMU keeps the kernel it loaded (an anonymous copy) and maps the initrd file.
   * A VM booting from its disk has neither, so this is reported apart from QEMU's own memory.
   */
  kernelBootRssKiB: number;
  /** Everything else: QEMU's own memory, the same under TCG and KVM but for TCG's smaller bookkeeping. */
  otherRssKiB: number;
  otherPssKiB: number;
  /** File-backed part of `other` (QEMU's binary and libraries; shared with every other QEMU on the node). */
  otherFileRssKiB: number;
  /** How the guest RAM region was found, for the report. */
  guestRamMapping?: string;
}

const MiB_IN_KiB = 1024;

const anonymous = (m: Mapping) => m.path === "";

/** The kernel and initrd of a direct kernel boot, to tell QEMU's copies of them apart. */
export interface KernelBootFiles {
  /** Size of the kernel image file. */
  kernelBytes: number;
  /** The initrd's real path (symlinks resolved: smaps shows the file QEMU mapped). */
  initrdPath?: string;
}

/**
 * QEMU's copies of a directly booted kernel, as resident KiB per mapping: the initrd file mapping, and the
 * kernel image less its real-mode setup (at most 64 KiB) in an anonymous mapping. Linux may merge that
 * mapping with a neighbour, so it is found by its resident size, and only the kernel's share of it counts.
 */
function kernelBootShares(maps: readonly Mapping[], files: KernelBootFiles): Map<Mapping, number> {
  const kernelKiB = Math.floor(files.kernelBytes / 1024);
  const out = new Map<Mapping, number>();
  for (const m of maps) {
    if (files.initrdPath !== undefined && m.path === files.initrdPath) out.set(m, m.rssKiB);
    else if (
      anonymous(m) &&
      m.perms === "rw-p" &&
      m.sizeKiB <= kernelKiB + 2 * MiB_IN_KiB &&
      m.rssKiB >= kernelKiB - 68 &&
      ![...out.keys()].some((k) => anonymous(k))
    )
      out.set(m, Math.min(m.rssKiB, kernelKiB));
  }
  return out;
}

/**
 * Splits QEMU's memory. Guest RAM is the anonymous read-write mapping whose size is the guest's RAM (QEMU may
 * add up to 2 MiB of alignment); TCG's code cache is the anonymous read-write-execute mapping (QEMU 7.2 maps
 * it RWX on x86-64 hosts, 1 GiB by default). With several candidates the largest resident one counts.
 */
export function classifyQemuMemory(
  maps: readonly Mapping[],
  guestBytes: number,
  kernelBoot?: KernelBootFiles,
): QemuMemory {
  const guestKiB = guestBytes / 1024;
  const guestCandidates = maps.filter(
    (m) =>
      anonymous(m) &&
      m.perms.startsWith("rw") &&
      m.perms[2] !== "x" &&
      m.sizeKiB >= guestKiB &&
      m.sizeKiB <= guestKiB + 2 * MiB_IN_KiB,
  );
  const guest = guestCandidates.sort((a, b) => b.rssKiB - a.rssKiB)[0];
  const tcg = maps.filter((m) => anonymous(m) && m.perms === "rwxp");
  const sum = (ms: readonly Mapping[], f: (m: Mapping) => number) => ms.reduce((s, m) => s + f(m), 0);
  const rssKiB = sum(maps, (m) => m.rssKiB);
  const pssKiB = sum(maps, (m) => m.pssKiB);
  const guestRamRssKiB = guest?.rssKiB ?? 0;
  const tcgCacheRssKiB = sum(tcg, (m) => m.rssKiB);
  const boot = kernelBoot ? kernelBootShares(maps, kernelBoot) : new Map<Mapping, number>();
  const bootKiB = [...boot.values()].reduce((a, b) => a + b, 0);
  const other = maps.filter((m) => m !== guest && !tcg.includes(m));
  return {
    rssKiB,
    pssKiB,
    guestRamRssKiB,
    tcgCacheRssKiB,
    kernelBootRssKiB: bootKiB,
    otherRssKiB: sum(other, (m) => m.rssKiB) - bootKiB,
    otherPssKiB: sum(other, (m) => m.pssKiB) - bootKiB,
    otherFileRssKiB:
      sum(
        other.filter((m) => m.path.startsWith("/")),
        (m) => m.rssKiB,
      ) -
      sum(
        [...boot.keys()].filter((m) => m.path.startsWith("/")),
        (m) => boot.get(m)!,
      ),
    ...(guest
      ? {
          guestRamMapping: `${guest.start.toString(16)}-${guest.end.toString(16)} ${guest.perms} ${guest.sizeKiB} kB`,
        }
      : {}),
  };
}
