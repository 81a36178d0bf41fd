/**
 * A helper process of the launcher (passt): started in the foreground as a child, its output
 * forwarded to the log, ready when a probe says so, stopped by pid.
 */
import { spawn } from "node:child_process";
import type { Logger } from "pino";
import type { RunningService } from "../prepared.ts";
import { NetworkError } from "./errors.ts";

/** A started helper; `exited` settles when the process ends (the launcher treats that as fatal). */
export interface ChildService extends RunningService {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How to start one helper. */
export interface ServiceSpec {
  name: string;
  argv: string[];
  /** Polled until true; the process must still be running. */
  ready: (output: string) => boolean | Promise<boolean>;
  timeoutMs: number;
  /** Grace between SIGTERM and SIGKILL on stop. */
  stopGraceMs?: number;
  logger?: Logger;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `spec.argv` and resolves once it is ready; on failure it is killed and SERVICE_FAILED thrown. */
export async function startService(spec: ServiceSpec): Promise<ChildService> {
  const child = spawn(spec.argv[0]!, spec.argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-16_384);
    for (const line of text.split("\n"))
      if (line.trim()) spec.logger?.info({ service: spec.name }, line.trim());
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", (err) => {
      output += `\n${err.message}`;
      done = { code: null, signal: null };
      resolve(done);
    });
    child.once("exit", (code, signal) => {
      done = { code, signal };
      resolve(done);
    });
  });
  const stop = async () => {
    if (done || child.pid === undefined) return;
    process.kill(child.pid, "SIGTERM");
    const killed = await Promise.race([
      exited.then(() => true),
      delay(spec.stopGraceMs ?? 5000).then(() => false),
    ]);
    if (!killed && !done) process.kill(child.pid, "SIGKILL");
    await exited;
  };
  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    if (done)
      throw new NetworkError(
        "SERVICE_FAILED",
        `${spec.name} exited (${done.signal ?? `code ${done.code}`}) before it was ready: ${output.trim().slice(-2000)}`,
        { cause: { argv: spec.argv } },
      );
    if (await spec.ready(output)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new NetworkError(
        "SERVICE_FAILED",
        `${spec.name} was not ready after ${spec.timeoutMs} ms: ${output.trim().slice(-2000)}`,
        {
          cause: { argv: spec.argv },
        },
      );
    }
    await delay(20);
  }
  return { name: spec.name, pid: child.pid!, exited, stop };
}
