// The console client (`vireo-launcher console`) against a real ConsoleHub whose "QEMU" is a plain unix-socket
// server: a session ends on end of input, on SIGHUP/SIGTERM and on Ctrl-], and the hub drops it each time —
// with piped input nothing else would end an exec whose caller went away.
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { attachConsole } from "./attach.ts";
import { ConsoleHub } from "./hub.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("console client and hub", () => {
  let dir: string;
  let qemu: Server;
  let guest: Socket | undefined;
  let typed: string;
  let hub: ConsoleHub;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vireo-console-"));
    typed = "";
    guest = undefined;
    // Plays QEMU's serial chardev: one client (the hub); records what reaches the "guest".
    qemu = createServer((s) => {
      guest = s;
      s.on("data", (c: Buffer) => (typed += c.toString("utf8")));
    });
    await new Promise<void>((r) => qemu.listen(join(dir, "serial.sock"), r));
    hub = await ConsoleHub.start({
      serialSocket: join(dir, "serial.sock"),
      consoleSocket: join(dir, "console.sock"),
    });
    await until("the hub to connect", () => guest !== undefined);
  });

  afterEach(async () => {
    await hub.close();
    guest?.destroy();
    await new Promise<void>((r) => qemu.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  function session(signals = new EventEmitter()) {
    const input = new PassThrough() as PassThrough & { isTTY?: boolean };
    const output = new PassThrough();
    let shown = "";
    output.on("data", (c: Buffer) => (shown += c.toString("utf8")));
    const done = attachConsole(join(dir, "console.sock"), {
      input: input as unknown as NodeJS.ReadStream,
      output,
      signals: signals as unknown as NodeJS.Process,
    });
    return { input, done, signals, shown: () => shown };
  }

  it("piped input reaches the guest, and its end closes the session and the hub drops it", async () => {
    const s = session();
    await until("the session to attach", () => hub.clients === 1);
    guest?.write("login: ");
    await until("guest output", () => s.shown() === "login: ");
    s.input.end("root\n");
    expect(await s.done).toBe(0);
    expect(typed).toBe("root\n");
    await until("the hub to drop the session", () => hub.clients === 0);
  });

  it.each([
    ["SIGHUP", 129],
    ["SIGTERM", 143],
  ])("%s ends the session with %i and the hub drops it", async (signal, code) => {
    const s = session();
    await until("the session to attach", () => hub.clients === 1);
    expect(s.signals.listenerCount(signal)).toBe(1);
    s.signals.emit(signal);
    expect(await s.done).toBe(code);
    expect(s.signals.listenerCount(signal)).toBe(0);
    await until("the hub to drop the session", () => hub.clients === 0);
  });

  it("a SIGTERM before the client sees its connection still ends it with 143, handlers removed", async () => {
    const s = session();
    // Emitted in the same tick as connect(): the hub may already count the session, the client not yet.
    s.signals.emit("SIGTERM");
    expect(await s.done).toBe(143);
    expect(s.signals.listenerCount("SIGTERM")).toBe(0);
    await until("the hub to drop the session", () => hub.clients === 0);
  });

  it("stops reading while its terminal is slow, so it buffers no more than the stream's high-water mark", async () => {
    const input = new PassThrough() as PassThrough & { isTTY?: boolean };
    // A terminal that takes nothing (a suspended `kubectl exec`): nobody reads `output`.
    const output = new PassThrough({ highWaterMark: 16 * 1024 });
    const done = attachConsole(join(dir, "console.sock"), {
      input: input as unknown as NodeJS.ReadStream,
      output,
      signals: new EventEmitter() as unknown as NodeJS.Process,
    });
    await until("the session to attach", () => hub.clients === 1);
    const chunk = Buffer.alloc(64 * 1024, "x");
    for (let i = 0; i < 32 * 16; i++)
      if (!guest!.write(chunk)) await new Promise((r) => guest!.once("drain", r));
    await sleep(200);
    // 32 MiB written by the guest; the client holds at most a chunk or two beyond its high-water mark.
    expect(output.readableLength + output.writableLength).toBeLessThan(256 * 1024);
    expect(hub.droppedBytes()).toBeGreaterThan(16 * 1024 * 1024);
    input.end();
    output.resume();
    expect(await done).toBe(0);
  });

  it("ends with 0 when the console closes (QEMU went away)", async () => {
    const s = session();
    await until("the session to attach", () => hub.clients === 1);
    guest?.destroy();
    expect(await s.done).toBe(0);
    expect(s.signals.listenerCount("SIGTERM")).toBe(0);
  });

  it("the real `vireo-launcher console` exits when its piped stdin ends, and on SIGTERM", async () => {
    const run = (stdinEnds: boolean) => {
      const child = spawn(
        process.execPath,
        [join(repoRoot, "bin/vireo-launcher.js"), "console", "--run-dir", dir],
        { stdio: ["pipe", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      return { child, exited, stderr: () => stderr, stdinEnds };
    };
    const piped = run(true);
    // A fresh checkout compiles the launcher through tsx first: minutes on a busy 2-core machine.
    await until("the launcher's session to attach", () => hub.clients === 1, 240_000);
    piped.child.stdin.end("echo hi\n");
    expect(await piped.exited, piped.stderr()).toBe(0);
    await until("the typed line", () => typed === "echo hi\n");
    await until("the hub to drop the session", () => hub.clients === 0);

    const signalled = run(false);
    // A fresh checkout compiles the launcher through tsx first: minutes on a busy 2-core machine.
    await until("the launcher's session to attach", () => hub.clients === 1, 240_000);
    // A byte through to the guest: the session forwards, so the signal meets the session's handler (the
    // moments before the client's connect event are covered above with a stand-in process).
    signalled.child.stdin.write("x");
    await until("the session to forward", () => typed === "echo hi\nx", 240_000);
    signalled.child.kill("SIGTERM");
    expect(await signalled.exited, signalled.stderr()).toBe(143);
    await until("the hub to drop the session", () => hub.clients === 0);
  }, 600_000);
});
