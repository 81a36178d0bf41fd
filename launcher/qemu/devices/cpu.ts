import type { DeviceArgs } from "../inputs.ts";
import { opts } from "../opts.ts";
import { hypervCpuFlags } from "./hyperv.ts";

/**
 * The QEMU CPU model for the configured one. Without libvirt's CPU map, host-model means the host CPU too
 * (a VM here is never live-migrated). TCG cannot pass a host CPU through, so both map to `max`, the
 * richest model TCG emulates.
 */
export function cpuModel(model: string, accel: "kvm" | "tcg", hostCpuQuirks: readonly string[]): string {
  const host = model === "host-passthrough" || model === "host-model";
  if (!host) return model;
  if (accel === "tcg") return "max";
  return ["host", ...hostCpuQuirks].join(",");
}

/** vCPU model and topology. */
export const cpuArgs: DeviceArgs = ({ config, inputs }) => {
  const { sockets, cores, threads, model } = config.cpu;
  return [
    "-cpu",
    [cpuModel(model, inputs.accel, inputs.hostCpuQuirks), ...hypervCpuFlags(config, inputs.accel)].join(","),
    "-smp",
    opts(String(sockets * cores * threads), { sockets, cores, threads }),
  ];
};
