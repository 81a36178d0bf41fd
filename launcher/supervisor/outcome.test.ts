import { describe, expect, it } from "vitest";
import { EXIT } from "../../crds/contract/index.ts";
import { LauncherEnd, resultOf, type Ending } from "./outcome.ts";

describe("resultOf: every ending's exit code and termination message, in one place", () => {
  const failing = Object.assign(new Error("disk root: no such claim"), { code: "DISK_NOT_FOUND" });
  const table: [Ending, number, string][] = [
    [{ kind: "config", message: "config: spec.x: bad" }, EXIT.CONFIG, "config: spec.x: bad"],
    [{ kind: "preflight", error: new Error("KVM unusable") }, EXIT.PREFLIGHT, "preflight: KVM unusable"],
    [
      { kind: "prepare", error: failing },
      EXIT.PREPARE,
      "preparation failed (DISK_NOT_FOUND): disk root: no such claim",
    ],
    [{ kind: "prepare", error: new Error("no tap") }, EXIT.PREPARE, "preparation failed: no tap"],
    [{ kind: "invalid-vm", error: new Error("two boot disks") }, EXIT.CONFIG, "invalid VM: two boot disks"],
    [
      { kind: "qemu-start", message: "QEMU exited before QMP answered" },
      EXIT.QEMU_DIED,
      "QEMU exited before QMP answered",
    ],
    [{ kind: "setup", error: new Error("EADDRINUSE") }, EXIT.INTERNAL, "launcher setup failed: EADDRINUSE"],
    [{ kind: "stopped-early", signal: "SIGTERM" }, EXIT.OK, "stopped by SIGTERM before the VM started"],
    [{ kind: "vm-ended", outcome: { kind: "poweroff" } }, EXIT.OK, "poweroff: the guest powered off"],
    [{ kind: "vm-ended", outcome: undefined }, EXIT.QEMU_DIED, "QEMU exited without a recorded reason"],
  ];
  it.each(table)("%j", (ending, code, message) => {
    expect(resultOf(ending)).toEqual({ code, message });
  });

  it("a step's LauncherEnd carries its ending, with the termination message as its own", () => {
    const end = new LauncherEnd({ kind: "stopped-early", signal: "SIGINT" });
    expect(end.ending).toEqual({ kind: "stopped-early", signal: "SIGINT" });
    expect(end.message).toBe("stopped by SIGINT before the VM started");
  });
});
