import { describe, expect, it } from "vitest";
import { acceleratorOverride, chooseAccelerator, type KvmProbe } from "./accel.ts";

const good: KvmProbe = { usable: true, hostCpuQuirks: ["-arch-capabilities"] };
const shim: KvmProbe = { usable: true, hostCpuQuirks: [], degraded: "kvm_pvm paravirtual shim" };
const bad: KvmProbe = { usable: false, reason: "/dev/kvm does not exist" };

describe("chooseAccelerator", () => {
  it("uses KVM when usable, carrying the host CPU quirks", () => {
    expect(chooseAccelerator(good, false, "auto")).toEqual({
      accel: "kvm",
      hostCpuQuirks: ["-arch-capabilities"],
      reason: "KVM is usable",
    });
    expect(chooseAccelerator(good, true, "auto").accel).toBe("kvm");
  });

  it("emulates only when allowed, and says why", () => {
    expect(chooseAccelerator(bad, true, "auto")).toMatchObject({
      accel: "tcg",
      reason: expect.stringMatching(/does not exist/),
    });
    expect(() => chooseAccelerator(bad, false, "auto")).toThrowError(/does not allow emulation/);
  });

  it("prefers TCG over a degraded KVM only when emulation is allowed", () => {
    expect(chooseAccelerator(shim, true, "auto")).toMatchObject({
      accel: "tcg",
      reason: expect.stringMatching(/degraded/),
    });
    expect(chooseAccelerator(shim, false, "auto")).toMatchObject({
      accel: "kvm",
      reason: expect.stringMatching(/degraded/),
    });
    expect(chooseAccelerator(shim, true, "kvm").accel).toBe("kvm");
  });

  it("honours VIREO_ACCEL=tcg only with allowEmulation, without needing a probe", () => {
    expect(chooseAccelerator(undefined, true, "tcg")).toMatchObject({ accel: "tcg", hostCpuQuirks: [] });
    expect(() => chooseAccelerator(good, false, "tcg")).toThrowError(/does not allow emulation/);
  });

  it("refuses VIREO_ACCEL=kvm when KVM is unusable, even with emulation allowed", () => {
    expect(() => chooseAccelerator(bad, true, "kvm")).toThrowError(
      expect.objectContaining({ code: "ACCELERATOR_UNAVAILABLE" }),
    );
  });

  it("parses the override strictly", () => {
    expect(acceleratorOverride(undefined)).toBe("auto");
    expect(acceleratorOverride("tcg")).toBe("tcg");
    expect(() => acceleratorOverride("kqemu")).toThrowError(/must be kvm, tcg or auto/);
  });
});
