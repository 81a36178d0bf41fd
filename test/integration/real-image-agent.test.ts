/**
 * The guest agent with a real guest: the Debian 12 cloud image (which runs qemu-guest-agent) booted by the
 * launcher binary in a test network namespace (real-image-kit). The launcher's `agent` report shows the
 * guest's OS, hostname and its own IP on the bridge-bound NIC (the pod IP); `probe agent-ping` and
 * `probe exec` pass; a soft reboot goes through the agent; and with the guest told to ignore the ACPI
 * power button, a SIGTERM still ends in a clean power-off because the launcher falls back to
 * `guest-shutdown` at half the grace period. Opt-in (VIREO_SLOW_TESTS=1): one TCG boot of Debian takes
 * minutes here.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runSockets, type AgentReport } from "../../crds/contract/index.ts";
import { controlRequest } from "../../launcher/control/client.ts";
import { createTopology, type Topology } from "../../launcher/network/testing/index.ts";
import type { LauncherStatus } from "../../launcher/supervisor/state.ts";
import { eventually } from "../harness/eventually.ts";
import {
  boot,
  type Boot,
  phases,
  prepareVm,
  type RealVm,
  removeVm,
  ssh,
  waitForSsh,
} from "./real-image-kit.ts";

const run = promisify(execFile);
const LAUNCHER = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const SLOW = process.env.VIREO_SLOW_TESTS === "1";
const BOOT_MS = 12 * 60_000;

describe.skipIf(!SLOW)("real image: the guest agent of the Debian 12 cloud image (TCG)", () => {
  let topo: Topology | undefined;
  let vm: RealVm | undefined;
  let b: Boot | undefined;

  afterAll(async () => {
    await b?.stop();
    await removeVm(vm);
    await topo?.destroy();
  });

  it(
    "reports OS, hostname and guest IPs, answers the probes, soft-reboots, and powers off through the agent when ACPI is ignored",
    async () => {
      topo = await createTopology();
      vm = await prepareVm(topo, "deb-agent", { bios: {} });
      const control = runSockets(vm.config.paths.runDir).controlSocket;
      const agent = () => controlRequest(control, "agent", 20_000) as Promise<AgentReport>;
      const status = () => controlRequest(control, "status", 20_000) as Promise<LauncherStatus>;
      const phase = phases();
      b = await boot(topo, vm, 1);
      await waitForSsh(topo, vm, b, BOOT_MS, "accept-new");
      phase("sshd");

      const report = await eventually(
        async () => {
          const r = await agent();
          if (!r.connected || !r.info.interfaces?.some((i) => i.ips.includes(topo!.podIp)))
            throw new Error(JSON.stringify(r));
          return r;
        },
        { timeoutMs: 300_000, intervalMs: 2000, description: "the agent reports the guest's IP" },
      );
      phase("agent connected");
      expect(report.info.osInfo).toMatchObject({ id: "debian", versionId: "12", machine: "x86_64" });
      expect(report.info.hostname).toBe("deb-agent");
      expect(report.info.filesystems?.some((f) => f.mountpoint === "/")).toBe(true);
      expect(report.info.timezone).toBeDefined();
      console.log(`real-image-agent: report ${JSON.stringify(report)}`);

      // The probes the kubelet would run in the launcher container.
      const probe = (...args: string[]) =>
        run(process.execPath, [LAUNCHER, "probe", "--run-dir", vm!.config.paths.runDir, ...args], {
          timeout: 120_000,
        });
      await probe("agent-ping");
      await probe("--timeout", "30", "exec", "--", "/bin/true");
      await expect(probe("--timeout", "30", "exec", "--", "/bin/false")).rejects.toMatchObject({ code: 1 });

      // Soft reboot: the guest reboots itself (a RESET, no new QEMU), and its agent comes back.
      const before = await status();
      await controlRequest(control, "soft-reboot", 60_000);
      await eventually(
        async () => {
          const s = await status();
          if (s.resets <= before.resets || s.qemuPid !== before.qemuPid)
            throw new Error(`resets ${s.resets}`);
        },
        { timeoutMs: 300_000, intervalMs: 2000, description: "the guest rebooted" },
      );
      await waitForSsh(topo, vm, b, BOOT_MS, "yes");
      await eventually(
        async () => {
          if (!(await agent()).connected) throw new Error("agent not back");
        },
        { timeoutMs: 300_000, intervalMs: 2000, description: "the agent is back after the reboot" },
      );
      phase("soft reboot");

      // logind handles the power button in this image; tell it to ignore the button, then stop the launcher.
      await ssh(
        topo,
        vm,
        "sudo mkdir -p /etc/systemd/logind.conf.d && printf '[Login]\\nHandlePowerKey=ignore\\n' | sudo tee /etc/systemd/logind.conf.d/ignore-power.conf >/dev/null && sudo systemctl restart systemd-logind",
      );
      process.kill(b.launcher.pid, "SIGTERM");
      const code = await b.exited(300_000);
      phase("agent power-off");
      const out = b.launcher.output();
      expect(out).toContain("asking its guest agent to power off");
      expect(code).toBe(0);
      const term = await readFile(join(vm.root, "termination-1"), "utf8");
      expect(term).toMatch(/^powerdown: /);
      console.log(`real-image-agent: ${phase.summary()}; termination: ${term.trim()}`);
    },
    40 * 60_000,
  );
});
