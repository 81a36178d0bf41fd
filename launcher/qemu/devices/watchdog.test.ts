import { describe, expect, it } from "vitest";
import type { LauncherConfig } from "../../../crds/launcher/config.ts";
import type { QemuInputs } from "../inputs.ts";
import { watchdogArgs } from "./watchdog.ts";

const config = (watchdog?: NonNullable<LauncherConfig["devices"]["watchdog"]>) =>
  ({
    devices: {
      serialConsole: true,
      vnc: false,
      rng: true,
      balloon: { enabled: true, statsPollSeconds: 10 },
      watchdog,
    },
  }) as LauncherConfig;
const inputs = {} as QemuInputs;

describe("watchdog argv", () => {
  it("is the i6300esb PCI device and QEMU's watchdog action", () => {
    for (const action of ["poweroff", "reset", "shutdown"] as const)
      expect(watchdogArgs({ config: config({ model: "i6300esb", action }), inputs })).toEqual([
        "-device",
        "i6300esb,id=watchdog0",
        "-action",
        `watchdog=${action}`,
      ]);
  });
  it("is nothing without a watchdog", () => {
    expect(watchdogArgs({ config: config(), inputs })).toEqual([]);
  });
});
