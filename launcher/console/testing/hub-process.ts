/**
 * A console hub in a process of its own, for tests that measure what the launcher's memory does:
 * `node --import tsx hub-process.ts SERIAL_SOCKET CONSOLE_SOCKET`. Prints `ready` once attached to the
 * serial socket; answers each line on stdin with one JSON line of its RSS, peak RSS and buffered bytes.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { ConsoleHub } from "../hub.ts";

const [serialSocket, consoleSocket] = process.argv.slice(2);
if (!serialSocket || !consoleSocket) throw new Error("usage: hub-process.ts SERIAL_SOCKET CONSOLE_SOCKET");

const kib = (field: string) =>
  1024 *
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))![1]);

const hub = await ConsoleHub.start({ serialSocket, consoleSocket });
process.stdout.write("ready\n");
createInterface({ input: process.stdin }).on("line", () => {
  // Old hubs lack buffered()/droppedBytes(); the test still gets the process's memory from them.
  const h = hub as Partial<Pick<ConsoleHub, "buffered" | "droppedBytes">>;
  process.stdout.write(
    JSON.stringify({
      rssBytes: kib("VmRSS"),
      peakRssBytes: kib("VmHWM"),
      clients: hub.clients,
      buffered: h.buffered?.(),
      droppedBytes: h.droppedBytes?.(),
    }) + "\n",
  );
});
process.stdin.on("end", () => void hub.close().then(() => process.exit(0)));
