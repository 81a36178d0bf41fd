// A guest flooding its serial console while a console session is stalled: the launcher's console hub runs
// in a process of its own (so its memory is measured, not the test's), attached to a unix-socket serial
// port that behaves like QEMU's socket chardev (it writes as fast as the hub reads). The issue measured
// 300 MiB of guest output growing the launcher by 299 MiB with one stalled session; now the launcher's
// memory stays flat, the stalled session loses output and is told so when it reads again.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_BUFFER_BYTES } from "../../launcher/console/hub.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MiB = 1024 * 1024;
/** What the guest writes: as in the measurement. */
const FLOOD_BYTES = 300 * MiB;

interface Stats {
  rssBytes: number;
  peakRssBytes: number;
  clients: number;
  buffered?: { sessions: number[]; serialInput: number };
  droppedBytes?: number;
}

describe("console under a guest's flood with a stalled session", () => {
  let dir: string;
  let serial: Server;
  let guest: Promise<Socket>;
  let hub: ChildProcess;
  let lines: Interface;
  const stats = () =>
    new Promise<Stats>((r) => {
      lines.once("line", (l) => r(JSON.parse(l) as Stats));
      hub.stdin!.write("stats\n");
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vireo-console-flood-"));
    // Plays QEMU's serial chardev (server, one client: the hub).
    serial = createServer();
    guest = new Promise((r) => serial.once("connection", r));
    await new Promise<void>((r) => serial.listen(join(dir, "serial.sock"), r));
    hub = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(repoRoot, "launcher/console/testing/hub-process.ts"),
        join(dir, "serial.sock"),
        join(dir, "console.sock"),
      ],
      { cwd: repoRoot, stdio: ["pipe", "pipe", "inherit"] },
    );
    lines = createInterface({ input: hub.stdout! });
    await new Promise<void>((r, j) => {
      lines.once("line", (l) => (l === "ready" ? r() : j(new Error(`hub said ${l}`))));
      hub.once("exit", (code) => j(new Error(`the hub exited (${code})`)));
    });
  });

  afterAll(async () => {
    hub?.stdin?.end();
    if (hub && hub.exitCode === null) await new Promise((r) => hub.once("exit", r));
    serial?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the launcher's memory flat, drops what the stalled session cannot take and tells it", async () => {
    const port = await guest;
    // The stalled session: attached, never reads (a `vireo console` whose terminal is suspended).
    const stalled = connect(join(dir, "console.sock"));
    await new Promise<void>((r) => stalled.once("connect", () => r()));
    stalled.pause();
    while ((await stats()).clients < 1) await new Promise((r) => setTimeout(r, 20));
    const before = await stats();

    // The guest writes as fast as the hub reads (QEMU's chardev holds the UART when the socket is full).
    const chunk = Buffer.alloc(64 * 1024, "x");
    const started = performance.now();
    let peakSessionBuffer = 0;
    for (let sent = 0; sent < FLOOD_BYTES; sent += chunk.length) {
      if (!port.write(chunk)) await new Promise((r) => port.once("drain", r));
      if (sent % (32 * MiB) === 0) {
        const s = await stats();
        peakSessionBuffer = Math.max(peakSessionBuffer, ...(s.buffered?.sessions ?? [0]));
      }
    }
    await new Promise<void>((r) => port.write(Buffer.alloc(0), () => r()));
    const seconds = (performance.now() - started) / 1000;
    const after = await stats();
    const grewBy = after.peakRssBytes - before.rssBytes;
    console.log(
      `console flood: ${FLOOD_BYTES / MiB} MiB in ${seconds.toFixed(1)} s; hub RSS ${(before.rssBytes / MiB).toFixed(0)} MiB → ` +
        `${(after.rssBytes / MiB).toFixed(0)} MiB (peak ${(after.peakRssBytes / MiB).toFixed(0)} MiB, +${(grewBy / MiB).toFixed(0)} MiB); ` +
        `stalled session's queue ≤ ${(peakSessionBuffer / 1024).toFixed(0)} KiB; dropped ${after.droppedBytes ?? "?"} bytes`,
    );
    expect(grewBy).toBeLessThan(64 * MiB);
    expect(peakSessionBuffer).toBeLessThanOrEqual(SESSION_BUFFER_BYTES);
    expect(after.buffered!.sessions[0]).toBeLessThanOrEqual(SESSION_BUFFER_BYTES);
    expect(after.droppedBytes).toBeGreaterThan(FLOOD_BYTES - 2 * MiB);

    // The stalled session reads again: it gets what was queued, then hears how much it lost.
    let got = "";
    stalled.setEncoding("latin1");
    stalled.on("data", (c: string) => (got = (got + c).slice(-4096)));
    stalled.resume();
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 10_000;
      while (!re.test(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got).toMatch(re);
    };
    await until(/\[vireo: this console session fell behind; \d+ bytes of guest output were dropped\]\r\n$/);
    // Caught up, it gets the guest's output again.
    port.write("login: ");
    await until(/login: $/);
    stalled.destroy();
  });
});
