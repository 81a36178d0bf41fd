/**
 * The guest agent channel against a hostile guest: the launcher binary boots the test guest under TCG, and
 * the guest's end of `org.qemu.guest_agent.0` is driven by scripts/guest/rootfs/etc/vireo/agent, switched
 * from mode to mode through the serial console in one boot: a well-behaved agent, garbage, a line that
 * never ends, a 100 MiB line, a flood, silence, and well-behaved again. Through all of it the launcher's
 * RSS stays bounded (measured from /proc), the `agent` control command names the reason the agent is not
 * connected, and /metrics keeps answering.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { launcherConfigSchema } from "../../crds/launcher/config.ts";
import { podPaths, type AgentReport } from "../../crds/contract/index.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const MiB = 2 ** 20;
const root = mkdtempSync(join(tmpdir(), "vireo-agent-hostile-"));
let child: ChildProcess | undefined;
let out = "";

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGKILL"); // QEMU follows through its parent-death signal
    await exited;
  }
  rmSync(root, { recursive: true, force: true });
});

/** The launcher's resident set in bytes (VmRSS of /proc/PID/status). */
function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

describe("guest agent channel with a hostile guest (TCG)", () => {
  it("stays bounded, reports why the agent is not connected, and recovers", async () => {
    const dir = join(root, "vm");
    const { kernel, initramfs } = guestArtifacts();
    const httpPort = await freePort();
    const config = launcherConfigSchema.parse({
      version: "v1",
      vm: { namespace: "test", name: "agent", uid: "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f" },
      accelerator: { allowEmulation: true },
      machine: "q35",
      cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
      memory: { guestBytes: 256 * MiB },
      boot: {
        kind: "kernel",
        kernelPath: kernel,
        initrdPath: initramfs,
        cmdline: "console=ttyS0 vireo.hostname=agent-guest",
      },
      disks: [],
      interfaces: [],
      devices: {
        serialConsole: true,
        vnc: false,
        rng: true,
        balloon: { enabled: false, statsPollSeconds: 5 },
      },
      terminationGracePeriodSeconds: 30,
      paths: podPaths(dir),
      http: { port: httpPort },
    });
    const cfgFile = join(root, "config.json");
    writeFileSync(cfgFile, JSON.stringify(config));
    child = spawn(process.execPath, [BIN, "--config", cfgFile, "--termination-log", join(root, "term")], {
      env: { ...process.env, VIREO_ACCEL: "tcg", VIREO_AGENT_POLL_SECONDS: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
    child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
    const pid = child.pid!;
    const files = runtimeFiles(config.paths);
    const agent = () => controlRequest(files.controlSocket, "agent", 10_000) as Promise<AgentReport>;
    const metricsOk = async () => {
      const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
      await r.text();
      return r.status;
    };
    const consoleLog = join(root, "console.log");
    const guest = await SerialConsole.connect(files.consoleSocket, { connectTimeoutMs: 60_000 });
    try {
      await guest.waitForReady(180_000);
      await guest.waitForShell(60_000);
      const peakRss: Record<string, number> = {};
      const sample = (phase: string) => (peakRss[phase] = Math.max(peakRss[phase] ?? 0, rssBytes(pid)));
      /** Starts the guest's agent end in `mode` (after stopping the previous one) and waits for its report. */
      const mode = async (m: string) => {
        await guest.run(
          "[ -f /run/vireo/agent.pids ] && kill $(cat /run/vireo/agent.pids) 2>/dev/null; sleep 1; true",
          30_000,
        );
        guest.write(`sh /etc/vireo/agent ${m} >/dev/null 2>&1 &\n`);
        await guest.waitFor(new RegExp(`VIREO-GUEST agent mode=${m} port=/dev/vport\\d+p\\d+`), 60_000);
      };
      const until = (what: string, phase: string, ok: (r: AgentReport) => boolean) =>
        eventually(
          async () => {
            sample(phase);
            const r = await agent();
            if (!ok(r)) throw new Error(`agent report: ${JSON.stringify({ ...r, info: undefined })}`);
            return r;
          },
          { timeoutMs: 90_000, intervalMs: 500, description: what },
        );

      // No agent in the guest yet: the handshake gets no answer.
      const none = await until("no agent", "none", (r) => !r.connected && r.reason !== "NotSynced");
      expect(["AgentNotResponding", "ChannelBlocked"]).toContain(none.reason);
      const baseline = rssBytes(pid);

      await mode("good");
      const good = await until("connected", "good", (r) => r.connected && r.info.hostname === "agent-guest");
      expect(good.info.osInfo).toMatchObject({ id: "vireo-test-guest", machine: "x86_64" });
      expect(good.reason).toBe("Connected");

      await mode("garbage");
      await until("garbage", "garbage", (r) => r.reason === "ProtocolError");

      await mode("nonewline");
      await until("a line that never ends", "nonewline", (r) => r.reason === "AgentNotResponding");

      await mode("bigline");
      const big = await until("100 MiB line", "bigline", (r) => r.reason === "Flooding");
      expect(big.counters.floodPauses).toBeGreaterThan(0);
      for (let i = 0; i < 10; i++) {
        sample("bigline");
        expect(await metricsOk()).toBe(200);
        await new Promise((r) => setTimeout(r, 500));
      }

      await mode("flood");
      await until(
        "flood",
        "flood",
        (r) => r.reason === "Flooding" && (r.counters.floodPauses ?? 0) > (big.counters.floodPauses ?? 0),
      );
      for (let i = 0; i < 10; i++) {
        sample("flood");
        expect(await metricsOk()).toBe(200);
        await new Promise((r) => setTimeout(r, 500));
      }

      await mode("silent");
      await until("silent", "silent", (r) => r.reason === "AgentNotResponding");

      await mode("good");
      const again = await until("connected again", "recovered", (r) => r.connected);
      expect(again.info.hostname).toBe("agent-guest");
      expect(await metricsOk()).toBe(200);

      const worst = Math.max(...Object.values(peakRss));
      console.log(
        `guest-agent-hostile: launcher RSS baseline ${(baseline / MiB).toFixed(1)} MiB, peak per phase ` +
          Object.entries(peakRss)
            .map(([k, v]) => `${k} ${(v / MiB).toFixed(1)}`)
            .join(", ") +
          ` MiB; counters ${JSON.stringify(again.counters)}`,
      );
      // A 100 MiB line and a flood may cost the launcher a few socket buffers, never the data itself.
      expect(worst - baseline).toBeLessThan(48 * MiB);
    } catch (err) {
      guest.saveTranscript(consoleLog);
      throw new Error(`${(err as Error).message}\nlauncher output:\n${out.slice(-4000)}`, { cause: err });
    } finally {
      guest.close();
    }
  });
});
