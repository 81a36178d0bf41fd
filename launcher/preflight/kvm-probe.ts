import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { existsSync } from "node:fs";
import { QmpClient } from "../qemu/qmp-client.ts";
import { spawnQemu } from "../qemu/process.ts";
import type { KvmProbe } from "./accel.ts";

/** The MSR KVM refuses on some hosts when the guest gets the host CPU (IA32_ARCH_CAPABILITIES). */
const ARCH_CAPABILITIES_MSR = /failed to set MSR 0x10a/;

/** Options for {@link probeKvm}. */
export interface ProbeOptions {
  device?: string;
  /** Where loaded kernel modules show up (to recognise the kvm_pvm shim). */
  sysModuleDir?: string;
  timeoutMs?: number;
}

/**
 * Probes KVM the way the VM will use it: a paused q35 machine with accel=kvm and the host CPU, asked over
 * QMP (`query-kvm`) whether KVM is enabled, then quit. Creating the vCPU makes KVM accept the CPU's MSRs,
 * so host quirks show up here rather than when the VM starts; when `-cpu host` trips over
 * IA32_ARCH_CAPABILITIES the probe retries without it and reports the quirk. Takes ~0.1–0.3 s.
 */
export async function probeKvm(options: ProbeOptions = {}): Promise<KvmProbe> {
  const device = options.device ?? "/dev/kvm";
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { usable: false, reason: code === "ENOENT" ? `${device} does not exist` : `${device}: ${code}` };
  }
  let quirks: string[] = [];
  let result = await tryKvm(quirks, options.timeoutMs ?? 20_000);
  if (!result.ok && ARCH_CAPABILITIES_MSR.test(result.reason)) {
    quirks = ["-arch-capabilities"];
    result = await tryKvm(quirks, options.timeoutMs ?? 20_000);
  }
  if (!result.ok) return { usable: false, reason: result.reason };
  const pvm = `${options.sysModuleDir ?? "/sys/module"}/kvm_pvm`;
  return existsSync(pvm)
    ? {
        usable: true,
        hostCpuQuirks: quirks,
        degraded: "KVM is the kvm_pvm paravirtual shim; full guests run very slowly",
      }
    : { usable: true, hostCpuQuirks: quirks };
}

async function tryKvm(
  quirks: string[],
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const args = [
    "-machine", "q35", "-accel", "kvm", "-cpu", ["host", ...quirks].join(","), "-m", "16M",
    "-nodefaults", "-no-user-config", "-display", "none", "-S", "-qmp", "stdio",
  ]; // prettier-ignore
  let qemu;
  try {
    qemu = await spawnQemu(args, { stdio: "qmp" });
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const why = () => qemu.stderrTail().join("; ") || `QEMU exited with ${JSON.stringify(qemu.exit)}`;
  try {
    const qmp = await QmpClient.open(qemu.stdout!, qemu.stdin!, () => qemu.kill("SIGKILL"), {
      handshakeTimeoutMs: timeoutMs,
    });
    const state = await qmp.execute<{ enabled: boolean; present: boolean }>("query-kvm");
    await qmp.execute("quit").catch(() => {});
    qmp.close();
    await qemu.exited;
    return state.enabled ? { ok: true } : { ok: false, reason: `QEMU reports KVM not enabled (${why()})` };
  } catch {
    qemu.kill("SIGKILL");
    await qemu.exited;
    return { ok: false, reason: why() };
  }
}
