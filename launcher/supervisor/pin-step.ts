/**
 * Dedicated CPUs, the shell around launcher/qemu/pinning.ts: reads the pod's cpuset (this process's
 * affinity, which the kubelet's static CPU manager sets) and the host NUMA nodes before QEMU starts, and
 * after it starts (paused) pins its threads with util-linux's taskset, using QMP's vCPU thread ids.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { QemuInputs } from "../qemu/inputs.ts";
import {
  formatCpuList,
  numaPlan,
  parseCpuList,
  pinningPlan,
  threadPins,
  type PinningPlan,
  type ThreadPin,
  type VcpuThread,
} from "../qemu/pinning.ts";
import type { QmpClient } from "../qemu/qmp-client.ts";
import type { Logger } from "./logger.ts";
import { LauncherEnd } from "./outcome.ts";

const run = promisify(execFile);

/** The CPUs this process may run on: its Cpus_allowed_list (the container's cpuset). */
export async function allowedCpus(pid: number | "self" = "self"): Promise<number[]> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  if (!line) throw new Error(`/proc/${pid}/status has no Cpus_allowed_list`);
  return parseCpuList(line[1]!);
}

/** Host CPU → NUMA node, from /sys/devices/system/node/node*\/cpulist (empty without NUMA support). */
export async function hostNumaNodes(sysNode = "/sys/devices/system/node"): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const entries = await readdir(sysNode).catch(() => [] as string[]);
  for (const e of entries) {
    const m = /^node(\d+)$/.exec(e);
    if (!m) continue;
    for (const cpu of parseCpuList(await readFile(`${sysNode}/${e}/cpulist`, "utf8")))
      out.set(cpu, Number(m[1]));
  }
  return out;
}

/** The placement of a VM with dedicated CPUs (undefined without); a cpuset too small ends the run. */
export async function dedicatedPlacement(config: LauncherConfig): Promise<QemuInputs["dedicated"]> {
  const d = config.cpu.dedicated;
  if (!d) return undefined;
  const vcpus = config.cpu.sockets * config.cpu.cores * config.cpu.threads;
  try {
    const plan = pinningPlan(await allowedCpus(), vcpus, d.isolateEmulatorThread);
    const numa = d.numaPassthrough ? numaPlan(plan.vcpuCpus, await hostNumaNodes()) : [];
    return { plan, numa };
  } catch (err) {
    throw new LauncherEnd({ kind: "setup", error: err as Error });
  }
}

/** Pins every thread of the paused QEMU: vCPU threads from query-cpus-fast, the rest to the emulator CPUs. */
export async function pinQemuThreads(
  pid: number,
  qmp: QmpClient,
  plan: PinningPlan,
  log: Logger,
): Promise<ThreadPin[]> {
  try {
    const vcpus = await qmp.execute<VcpuThread[]>("query-cpus-fast");
    const tids = (await readdir(`/proc/${pid}/task`)).map(Number);
    const pins = threadPins(plan, vcpus, tids);
    // Emulator threads first: a vCPU thread pinned before them would otherwise share its CPU for a moment.
    for (const p of [...pins].sort((a, b) => (a.role === b.role ? 0 : a.role === "emulator" ? -1 : 1)))
      await run("taskset", ["--pid", "--cpu-list", formatCpuList(p.cpus), String(p.tid)]);
    log.info(
      {
        phase: "pinned",
        vcpus: pins.filter((p) => p.role === "vcpu").map((p) => ({ tid: p.tid, cpu: p.cpus[0] })),
        emulatorCpus: formatCpuList(plan.emulatorCpus),
        emulatorThreads: pins.filter((p) => p.role === "emulator").length,
      },
      "vCPU threads pinned",
    );
    return pins;
  } catch (err) {
    throw new LauncherEnd({ kind: "setup", error: err as Error });
  }
}
