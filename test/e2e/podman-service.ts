/**
 * podman's Docker-compatible API for testcontainers. Uses DOCKER_HOST when the caller (CI) set it;
 * otherwise starts `podman system service` on a private socket and stops it (by pid) afterwards.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../harness/eventually.ts";

/** A podman API endpoint and how to let go of it. */
export interface PodmanService {
  /** The DOCKER_HOST value (`unix:///…`). */
  dockerHost: string;
  /** Stops the service if this module started it. */
  stop(): Promise<void>;
}

/** GET /_ping on a unix socket; true when podman answers OK. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * Makes testcontainers talk to podman: sets DOCKER_HOST (starting a service when none is given) and turns the
 * reaper off (Ryuk needs a Docker socket it can mount; tests here remove their containers themselves).
 */
export async function usePodmanService(): Promise<PodmanService> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  const given = process.env.DOCKER_HOST;
  if (given) return { dockerHost: given, stop: async () => undefined };
  const dir = mkdtempSync(join(tmpdir(), "vireo-podman-"));
  const socket = join(dir, "podman.sock");
  // --time=0: no idle timeout; the test ends the service. runc for every container it creates (crun fails on
  // this host's hybrid cgroup layout, DESIGN.md).
  const child = spawn("podman", ["--runtime", "runc", "system", "service", "--time=0", `unix://${socket}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`podman system service exited: ${stderr.trim()}`);
        if (!existsSync(socket) || !(await ping(socket))) throw new Error(`no answer on ${socket} yet`);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  } catch (err) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const dockerHost = `unix://${socket}`;
  process.env.DOCKER_HOST = dockerHost;
  return {
    dockerHost,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      delete process.env.DOCKER_HOST;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
