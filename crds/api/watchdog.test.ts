import { describe, expect, it } from "vitest";
import { launcherConfigFromVm } from "../launcher/from-vm.ts";
import { podPaths } from "../contract/index.ts";
import { base, withSpec } from "./testing/invalid-vms.ts";
import { parseVirtualMachine, validateVirtualMachine } from "./validate.ts";

const withWatchdog = (watchdog: unknown) =>
  withSpec((s) => {
    (s as Record<string, unknown>).devices = { watchdog };
  });

describe("devices.watchdog (KubeVirt's i6300esb)", () => {
  it("defaults the name and the action (poweroff), and reaches the launcher config", () => {
    const vm = parseVirtualMachine(withWatchdog({ i6300esb: {} }));
    expect(vm.spec.devices.watchdog).toEqual({ name: "watchdog", i6300esb: { action: "poweroff" } });
    const config = launcherConfigFromVm(vm, {
      allowEmulation: true,
      defaultBinding: "masquerade",
      paths: podPaths("/"),
    });
    expect(config.devices.watchdog).toEqual({ model: "i6300esb", action: "poweroff" });
  });

  it("takes reset and shutdown", () => {
    for (const action of ["reset", "shutdown"]) {
      const vm = parseVirtualMachine(withWatchdog({ name: "wd", i6300esb: { action } }));
      expect(vm.spec.devices.watchdog?.i6300esb.action).toBe(action);
    }
  });

  it("refuses an unknown action or model with the field's path", () => {
    const bad = validateVirtualMachine(withWatchdog({ i6300esb: { action: "inject-nmi" } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => p.path)).toContain("spec.devices.watchdog.i6300esb.action");
    const model = validateVirtualMachine(withWatchdog({ ib700: {} }));
    expect(model.ok).toBe(false);
    if (!model.ok) expect(model.problems.map((p) => p.path)).toContain("spec.devices.watchdog.i6300esb");
  });

  it("no watchdog unless asked", () => {
    const vm = parseVirtualMachine(base());
    expect(vm.spec.devices.watchdog).toBeUndefined();
    expect(
      launcherConfigFromVm(vm, { allowEmulation: true, defaultBinding: "masquerade", paths: podPaths("/") })
        .devices.watchdog,
    ).toBeUndefined();
  });
});
