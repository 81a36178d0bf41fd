import { describe, expect, it } from "vitest";
import { base, invalidVms as invalid, withSpec } from "./testing/invalid-vms.ts";
import { validateVirtualMachine } from "./validate.ts";

describe("validateVirtualMachine rejects invalid manifests with a path and a message", () => {
  it("has at least 40 cases", () => expect(invalid.length).toBeGreaterThanOrEqual(40));
  it.each(invalid)("%s", (_name, make, path, message) => {
    const r = validateVirtualMachine(make());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const matching = r.problems.filter((p) => p.path === path);
    expect(
      matching.map((p) => p.message),
      JSON.stringify(r.problems),
    ).toContainEqual(expect.stringMatching(message));
    expect(r.error.code).toBe("INVALID_VIRTUAL_MACHINE");
    expect(r.error.cause).toBeDefined();
  });
});

describe("validateVirtualMachine accepts valid manifests", () => {
  it("applies the documented defaults", () => {
    const r = validateVirtualMachine(base());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.vm.spec;
    expect(s.runStrategy).toBe("Always");
    expect(s.cpu).toEqual({ sockets: 1, cores: 1, threads: 1, model: "host-model" });
    expect(s.machine).toEqual({ type: "q35" });
    expect(s.firmware).toEqual({ bios: {} });
    expect(s.disks[0]).toEqual({ name: "root", bus: "virtio", bootOrder: 1, readOnly: false });
    expect(s.interfaces).toEqual([{ name: "default", model: "virtio" }]);
    expect(s.networks).toEqual([{ name: "default", pod: {} }]);
    expect(s.devices).toEqual({ serialConsole: true, vnc: false, rng: true, memoryBalloon: true });
    expect(s.terminationGracePeriodSeconds).toBe(180);
  });

  it("keeps everything a user wrote and is idempotent", () => {
    const written = withSpec((s) => {
      s.runStrategy = "Manual";
      s.cpu = { sockets: 2, cores: 2, threads: 2, model: "Skylake-Server" };
      s.firmware = { uefi: { secureBoot: true } };
      s.interfaces = [
        {
          name: "default",
          binding: "masquerade",
          macAddress: "02:aa:bb:cc:dd:ee",
          ports: [{ port: 22, protocol: "TCP" }],
        },
      ];
      s.networks = [{ name: "default", pod: { vmNetworkCIDR: "10.1.0.0/24" } }];
      s.tolerations = [{ key: "k", operator: "Exists", effect: "NoSchedule" }];
      s.affinity = { nodeAffinity: { anything: ["goes", { here: 1 }] } };
    });
    const r = validateVirtualMachine(written);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.vm.spec.cpu).toEqual(written.spec.cpu);
    expect(r.vm.spec.firmware).toEqual(written.spec.firmware);
    expect(r.vm.spec.affinity).toEqual(written.spec.affinity);
    expect(r.vm.spec.interfaces[0]).toEqual({ ...(written.spec.interfaces as object[])[0], model: "virtio" });
    const again = validateVirtualMachine(r.vm);
    expect(again.ok && again.vm).toEqual(r.vm);
  });

  it("reports every problem, not just the first", () => {
    const r = validateVirtualMachine(
      withSpec((s) => {
        s.memory = { guest: "lots" };
        s.cpu = { sockets: 0 };
        s.disks = [{ name: "Root" }];
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(["spec.memory.guest", "spec.cpu.sockets", "spec.disks[0].name"]),
    );
  });
});
