/**
 * Live migration with real QEMU (TCG) test guests in two network namespaces standing in for two pods, over
 * the launcher's migration code (launcher/migration): the source drives `migrate` over TCP to the target's
 * address, the target resumes and announces. A guest process that counts (console and disk) keeps counting
 * on the target — same boot id, uptime continues — the disk holds its latest count, and the downtime is
 * measured. Cancelling, or killing the target, mid-way leaves the source running; QEMU's image lock keeps a
 * second, non-incoming QEMU off the disk the guest is using.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATION_PORT } from "../../crds/contract/migration.ts";
import { incomingUri } from "../../launcher/migration/plan.ts";
import { migrateSource } from "../../launcher/migration/source.ts";
import { listenIncoming } from "../../launcher/migration/target.ts";
import type { MigrationProgressView } from "../../launcher/migration/progress.ts";
import {
  COUNTER_SCRIPT,
  createPodPair,
  lastTick,
  startInNetns,
  type NetnsQemu,
  type PodPair,
} from "./migration-kit.ts";

const MEMORY_MIB = 128;
const root = mkdtempSync(join(tmpdir(), "vireo-migration-"));
const pods: PodPair[] = [];
const qemus: NetnsQemu[] = [];
let subnet = 0;

afterAll(async () => {
  await Promise.all(qemus.map((q) => q.kill()));
  for (const p of pods) p.remove();
  rmSync(root, { recursive: true, force: true });
});

/** A source guest counting in namespace A, a target waiting in namespace B, sharing one disk file. */
async function setUp(name: string) {
  const pair = createPodPair(`${process.pid % 10000}${name}`, ++subnet);
  pods.push(pair);
  const dir = join(root, name);
  const disk = join(dir, "disk.raw");
  execFileSync("mkdir", ["-p", dir]);
  execFileSync("truncate", ["-s", "16M", disk]);
  const source = await startInNetns({
    ...pair.source,
    dir: join(dir, "s"),
    disk,
    memoryMiB: MEMORY_MIB,
    incoming: false,
  });
  qemus.push(source);
  await source.serial.waitForReady(180_000);
  await source.serial.waitForShell(60_000);
  const bootId = (await source.serial.check("cat /proc/sys/kernel/random/boot_id", 60_000)).trim();
  await source.serial.check(COUNTER_SCRIPT, 60_000);
  await source.serial.waitFor(/^TICK 3 /m, 60_000);
  const target = await startInNetns({
    ...pair.target,
    dir: join(dir, "t"),
    disk,
    memoryMiB: MEMORY_MIB,
    incoming: true,
  });
  qemus.push(target);
  const uri = incomingUri(pair.target.ip, MIGRATION_PORT);
  return { pair, disk, dir, source, target, bootId, uri };
}

function firstSector(disk: string): string {
  const fd = openSync(disk, "r");
  try {
    const buf = Buffer.alloc(512);
    readSync(fd, buf, 0, 512, 0);
    return buf.toString("latin1").split("\n")[0] ?? "";
  } finally {
    closeSync(fd);
  }
}

async function runState(q: NetnsQemu): Promise<string> {
  return (await q.qmp.execute<{ status: string }>("query-status")).status;
}

/** Waits until the console shows a tick above `n`; returns it. */
async function tickAbove(q: NetnsQemu, n: number, timeoutMs: number): Promise<number> {
  for (;;) {
    const m = await q.serial.waitFor(/^TICK (\d+) /m, timeoutMs);
    if (Number(m[1]) > n) return Number(m[1]);
  }
}

describe("live migration between two network namespaces (real QEMU, TCG)", () => {
  beforeAll(() => {
    execFileSync("qemu-system-x86_64", ["--version"]);
  });

  it("moves a counting guest: same boot, counter and uptime continue, disk intact, downtime measured", async () => {
    const s = await setUp("ok");
    // A second QEMU that is not an incoming target cannot open the disk the guest writes: QEMU's image lock.
    const intruder = execFileSync(
      "sh",
      [
        "-c",
        `qemu-system-x86_64 -nodefaults -display none -S -drive file=${s.disk},format=raw,if=virtio 2>&1; true`,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(intruder).toMatch(/Failed to get "write" lock/);

    const listening = await listenIncoming(s.target.qmp, { uri: s.uri, timeoutMs: 600_000 });
    const progress: MigrationProgressView[] = [];
    let lastSourceTickAt = Date.now();
    let lastSourceTick = 0;
    const watch = setInterval(() => {
      const t = lastTick(s.source.serial.transcript);
      if (t && t.n > lastSourceTick) [lastSourceTick, lastSourceTickAt] = [t.n, Date.now()];
    }, 20);
    const t0 = Date.now();
    const result = await migrateSource(s.source.qmp, {
      uri: s.uri,
      tuning: {},
      guestMemoryBytes: MEMORY_MIB * 2 ** 20,
      onProgress: (p) => progress.push(p),
    });
    const totalMs = Date.now() - t0;
    expect(result.outcome).toEqual({ result: "Succeeded" });
    expect(result.runState).toBe("postmigrate");
    const incoming = await listening.completion;
    expect(incoming.result).toBe("Succeeded");
    clearInterval(watch);
    const before = lastTick(s.source.serial.transcript);
    expect(before).toBeDefined();
    expect(await runState(s.target)).toBe("running");

    // The counter goes on from where it was, on the target's console.
    const next = await tickAbove(s.target, before!.n, 60_000);
    const gapMs = Date.now() - lastSourceTickAt;
    expect(next).toBeGreaterThan(before!.n);
    expect(next).toBeLessThan(before!.n + 50); // continued, not restarted at 1
    await s.target.serial.waitFor(/\n/, 5_000);
    const after = lastTick(s.target.serial.transcript)!;
    expect(after.uptime).toBeGreaterThanOrEqual(before!.uptime);
    // Same boot: the kernel's boot id did not change.
    expect((await s.target.serial.check("cat /proc/sys/kernel/random/boot_id", 60_000)).trim()).toBe(
      s.bootId,
    );
    // The disk: the guest reads its latest count, and the host file holds it too (fsync'd).
    const inGuest = await s.target.serial.check("head -c 15 /dev/vda", 60_000);
    const count = Number(/COUNT (\d+)/.exec(inGuest)?.[1]);
    expect(count).toBeGreaterThan(before!.n);
    expect(Number(/COUNT (\d+)/.exec(firstSector(s.disk))?.[1])).toBeGreaterThanOrEqual(count);

    const last = progress.at(-1)!;
    console.log(
      `migration: total ${totalMs} ms (QEMU ${last.totalTimeMilliseconds} ms), QEMU downtime ` +
        `${last.downtimeMilliseconds} ms, console gap ${gapMs} ms (ticks every 200 ms), ` +
        `${last.transferredBytes} bytes, ${last.iterations} iterations, ${progress.length} polls`,
    );
    expect(last.downtimeMilliseconds).toBeGreaterThanOrEqual(0);
    await s.source.qmp.execute("quit");
    expect(await s.source.exited).toBe(0);
  }, 600_000);

  it("cancel mid-way leaves the source running and counting; the target QEMU ends", async () => {
    const s = await setUp("cancel");
    const listening = await listenIncoming(s.target.qmp, { uri: s.uri, timeoutMs: 600_000 });
    const ac = new AbortController();
    const result = await migrateSource(s.source.qmp, {
      uri: s.uri,
      tuning: { bandwidthBytesPerSecond: 2 ** 20 }, // 1 MiB/s: tens of seconds for this guest
      guestMemoryBytes: MEMORY_MIB * 2 ** 20,
      onProgress: (p) => {
        if ((p.transferredBytes ?? 0) > 2 ** 20) ac.abort();
      },
      signal: ac.signal,
    });
    expect(result.outcome).toEqual({ result: "Cancelled" });
    expect(result.runState).toBe("running");
    expect((await listening.completion).result).toBe("Failed");
    const before = lastTick(s.source.serial.transcript)!;
    expect(await tickAbove(s.source, before.n, 60_000)).toBeGreaterThan(before.n);
    expect(await s.target.exited).not.toBe(0);
  }, 600_000);

  it("the target killed mid-way fails the migration and leaves the source running", async () => {
    const s = await setUp("kill");
    await listenIncoming(s.target.qmp, { uri: s.uri, timeoutMs: 600_000 });
    let killed = false;
    const result = await migrateSource(s.source.qmp, {
      uri: s.uri,
      tuning: { bandwidthBytesPerSecond: 2 ** 20 },
      guestMemoryBytes: MEMORY_MIB * 2 ** 20,
      onProgress: (p) => {
        if (!killed && (p.transferredBytes ?? 0) > 2 ** 20) {
          killed = true;
          process.kill(s.target.pid, "SIGKILL");
        }
      },
    });
    expect(killed).toBe(true);
    expect(result.outcome).toMatchObject({ result: "Failed", reason: "MIGRATION_FAILED" });
    expect(result.runState).toBe("running");
    const before = lastTick(s.source.serial.transcript)!;
    expect(await tickAbove(s.source, before.n, 60_000)).toBeGreaterThan(before.n);
    expect(Number(/COUNT (\d+)/.exec(firstSector(s.disk))?.[1])).toBeGreaterThan(0);
  }, 600_000);
});
