/**
 * `vireo run` as the quickstart uses it: the demo VM boots in a network namespace "pod", becomes ready
 * (its web server answers at the pod IP), powers off on request, and nothing is left behind.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const VIREO = fileURLToPath(new URL("../../bin/vireo.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../../examples/demo.yaml", import.meta.url));

function vireoRun(args: string[], onOutput?: (text: string, pid: number) => void) {
  // Tests always emulate (on this kind of host KVM is a slow shim; elsewhere it keeps runs comparable).
  const child = spawn(process.execPath, [VIREO, "run", DEMO, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, VIREO_ACCEL: "tcg" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    onOutput?.(out, child.pid!);
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, out, err })),
  );
}

const namespaces = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

describe("vireo run examples/demo.yaml", () => {
  it("boots, is ready at the pod IP, powers off via ACPI and cleans up", async () => {
    // Ready also waits for the console shell: until busybox init is PID 1, the test guest loses a poweroff.
    const r = await vireoRun(["--exit-after-ready", "--ready-on-console", "^VIREO-GUEST shell"]);
    const ns = /pod network namespace (vireo-run-\d+)/.exec(r.err)?.[1];
    const workDir = /work dir (\S+)/.exec(r.err)?.[1];
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("accelerator: tcg — emulation forced by VIREO_ACCEL=tcg");
    const podIp = /pod IP (\d+\.\d+\.\d+\.\d+)\//.exec(r.err)?.[1];
    expect(r.err).toContain(`guest address: ${podIp} (eth0)`);
    expect(r.err).toContain("ready (--exit-after-ready)");
    expect(r.err).toMatch(/launcher exited with 0: powerdown: /);
    expect(r.out).toContain("VIREO-GUEST http port=80");
    expect(r.out).toContain("VIREO-GUEST halted");
    expect(namespaces()).not.toContain(ns);
    expect(existsSync(workDir!)).toBe(false);
  });

  it("shuts the guest down gracefully on Ctrl-C (SIGINT)", async () => {
    let sent = false;
    // Once busybox init runs as PID 1 (the console shell is up): before that, the test guest's /init
    // script is PID 1 and a poweroff request from acpid is lost.
    const r = await vireoRun([], (out, pid) => {
      if (!sent && out.includes("VIREO-GUEST shell")) {
        sent = true;
        process.kill(pid, "SIGINT");
      }
    });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("Ctrl-C: shutting the guest down");
    expect(r.err).toMatch(/launcher exited with 0: powerdown: /);
  });
});
