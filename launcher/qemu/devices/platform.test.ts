import { describe, expect, it } from "vitest";
import type { LauncherConfig } from "../../../crds/launcher/config.ts";
import type { QemuInputs } from "../inputs.ts";
import { clockArgs } from "./clock.ts";
import { cpuArgs } from "./cpu.ts";
import { hypervCpuFlags } from "./hyperv.ts";

const all = [
  "relaxed",
  "vapic",
  "spinlocks",
  "vpindex",
  "runtime",
  "synic",
  "stimer",
  "reset",
  "frequencies",
  "reenlightenment",
  "tlbflush",
  "ipi",
];
const config = (patch: Partial<LauncherConfig>) =>
  ({ cpu: { sockets: 2, cores: 1, threads: 1, model: "host-model" }, ...patch }) as LauncherConfig;
const inputs = (accel: "kvm" | "tcg") =>
  ({ accel, hostCpuQuirks: ["-arch-capabilities"] }) as unknown as QemuInputs;

describe("Hyper-V enlightenments", () => {
  it("become hv-* flags on -cpu; spinlocks carries its count in hex", () => {
    const c = config({ hyperv: { enlightenments: all, spinlocks: 8191 } });
    expect(cpuArgs({ config: c, inputs: inputs("kvm") })).toEqual([
      "-cpu",
      "host,-arch-capabilities,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,hv-runtime=on,hv-synic=on," +
        "hv-stimer=on,hv-reset=on,hv-frequencies=on,hv-reenlightenment=on,hv-tlbflush=on,hv-ipi=on",
      "-smp",
      "2,sockets=2,cores=1,threads=1",
    ]);
  });
  it("leave out what QEMU refuses without KVM", () => {
    expect(hypervCpuFlags(config({ hyperv: { enlightenments: all } }), "tcg")).toEqual([
      "hv-relaxed=on",
      "hv-vapic=on",
      "hv-spinlocks=0x1fff",
      "hv-runtime=on",
      "hv-reset=on",
      "hv-frequencies=on",
      "hv-reenlightenment=on",
    ]);
    expect(hypervCpuFlags(config({}), "kvm")).toEqual([]);
  });
});

describe("clock", () => {
  it("sets the RTC base, slews drift, removes the HPET and delays PIT ticks (KVM only)", () => {
    const c = config({ clock: { base: "localtime", hpet: false, pitTickPolicy: "delay", rtcCatchup: true } });
    expect(clockArgs({ config: c, inputs: inputs("kvm") })).toEqual([
      "-rtc",
      "base=localtime,driftfix=slew",
      "-machine",
      "hpet=off",
      "-global",
      "kvm-pit.lost_tick_policy=delay",
    ]);
    expect(clockArgs({ config: c, inputs: inputs("tcg") })).toEqual([
      "-rtc",
      "base=localtime,driftfix=slew",
      "-machine",
      "hpet=off",
    ]);
    expect(
      clockArgs({
        config: config({ clock: { base: "utc", hpet: true, rtcCatchup: false } }),
        inputs: inputs("tcg"),
      }),
    ).toEqual(["-rtc", "base=utc"]);
    expect(clockArgs({ config: config({}), inputs: inputs("tcg") })).toEqual([]);
  });
});
