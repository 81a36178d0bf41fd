import { describe, expect, it } from "vitest";
import { expandVirtualMachine, referencesOf, type ExpansionInputs } from "./instancetype-expand.ts";
import { instancetypeSpecSchema } from "./instancetype.ts";
import { preferenceSpecSchema } from "./preference.ts";
import { validateVirtualMachine } from "./validate.ts";

const vm = (spec: Record<string, unknown>) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "web", namespace: "default" },
  spec: {
    instancetype: { name: "u1.medium" },
    disks: [{ name: "root" }, { name: "data", bus: "scsi" }],
    volumes: [
      { name: "root", containerDisk: { image: "example/debian" } },
      { name: "data", emptyDisk: { capacity: "1Gi" } },
    ],
    ...spec,
  },
});

const it4 = (extra: Record<string, unknown> = {}) => ({
  kind: "VirtualMachineClusterInstancetype",
  name: "u1.medium",
  spec: instancetypeSpecSchema.parse({ cpu: { guest: 4, ...extra }, memory: { guest: "4Gi" } }),
});
const pref = (name: string, spec: unknown) => ({
  kind: "VirtualMachineClusterPreference",
  name,
  spec: preferenceSpecSchema.parse(spec),
});

function expand(raw: ReturnType<typeof vm>, inputs: ExpansionInputs) {
  const r = expandVirtualMachine(raw, inputs);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const v = validateVirtualMachine(r.vm);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.vm.spec;
}

describe("expandVirtualMachine", () => {
  it("gives a VM without a TPM the preference's, and keeps the VM's own", () => {
    const p = pref("w", { devices: { preferredTPM: { persistent: true } } });
    const inputs = { instancetype: it4(), preference: p };
    expect(expand(vm({ preference: { name: "w" } }), inputs).devices.tpm).toEqual({ persistent: true });
    const own = vm({ preference: { name: "w" }, devices: { tpm: { persistent: false } } });
    expect(expand(own, inputs).devices.tpm).toEqual({ persistent: false });
    expect(expand(vm({}), { instancetype: it4() }).devices.tpm).toBeUndefined();
  });

  it("takes vCPUs and memory from the instancetype (sockets by default) and keeps the VM's CPU model", () => {
    const s = expand(vm({ cpu: { model: "Skylake-Server" } }), { instancetype: it4() });
    expect(s.cpu).toEqual({ sockets: 4, cores: 1, threads: 1, model: "Skylake-Server" });
    expect(s.memory).toEqual({ guest: "4Gi" });
    expect(s.instancetype).toEqual({ kind: "VirtualMachineClusterInstancetype", name: "u1.medium" });
  });

  it("lays vCPUs out as the preference asks and carries hugepages", () => {
    const hp = {
      ...it4(),
      spec: instancetypeSpecSchema.parse({
        cpu: { guest: 4 },
        memory: { guest: "4Gi", hugepages: { pageSize: "2Mi" } },
      }),
    };
    const s = expand(vm({ preference: { name: "p" } }), {
      instancetype: hp,
      preference: pref("p", { cpu: { preferredCPUTopology: "cores" } }),
    });
    expect(s.cpu).toMatchObject({ sockets: 1, cores: 4, threads: 1 });
    expect(s.memory).toEqual({ guest: "4Gi", hugepages: { pageSize: "2Mi" } });
  });

  it("rejects a VM that sets what the instancetype owns, naming each field", () => {
    const r = expandVirtualMachine(vm({ memory: { guest: "1Gi" }, cpu: { cores: 2 } }), {
      instancetype: it4(),
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe("InstancetypeConflict");
    expect(r.problems.map((p) => p.path)).toEqual(["spec.memory", "spec.cpu.cores"]);
    expect(r.problems[1]!.message).toMatch(/u1\.medium/);
  });

  it("rejects a VM CPU model when the instancetype sets one too", () => {
    const r = expandVirtualMachine(vm({ cpu: { model: "Skylake-Server" } }), {
      instancetype: it4({ model: "host-passthrough" }),
    });
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(["spec.cpu.model"]);
  });

  it("carries dedicated CPUs and an isolated emulator thread onto the VM", () => {
    const r = expandVirtualMachine(vm({}), {
      instancetype: it4({ dedicatedCPUPlacement: true, isolateEmulatorThread: true }),
    });
    expect(r.ok && r.vm.spec.cpu).toMatchObject({ dedicatedCpuPlacement: true, isolateEmulatorThread: true });
  });

  it("rejects a VM turning off the dedicated CPUs its instancetype gives", () => {
    const r = expandVirtualMachine(vm({ cpu: { dedicatedCpuPlacement: false } }), {
      instancetype: it4({ dedicatedCPUPlacement: true }),
    });
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(["spec.cpu.dedicatedCpuPlacement"]);
  });

  it("fills only fields the VM left at their defaults", () => {
    const windows = pref("windows.11", {
      devices: { preferredDiskBus: "sata", preferredInterfaceModel: "e1000e" },
      firmware: { preferredUseEfi: true, preferredUseSecureBoot: true },
      volumes: { preferredStorageClassName: "fast" },
    });
    const s = expand(vm({ preference: { name: "windows.11" } }), {
      instancetype: it4(),
      preference: windows,
    });
    expect(s.disks.map((d) => d.bus)).toEqual(["sata", "scsi"]);
    expect(s.interfaces.map((i) => i.model)).toEqual(["e1000e"]);
    expect(s.firmware).toEqual({ uefi: { secureBoot: true } });
    expect(s.stateStorage).toEqual({ storageClassName: "fast" });

    const own = expand(
      vm({
        preference: { name: "windows.11" },
        firmware: { uefi: { secureBoot: false } },
        interfaces: [{ name: "default", model: "rtl8139" }],
        stateStorage: { storageClassName: "slow" },
      }),
      { instancetype: it4(), preference: windows },
    );
    expect(own.firmware).toEqual({ uefi: { secureBoot: false } });
    expect(own.interfaces[0]!.model).toBe("rtl8139");
    expect(own.stateStorage).toEqual({ storageClassName: "slow" });
  });

  it("checks the preference's requirements against the instancetype, with the path of what chose the size", () => {
    const needs = pref("windows.11", { requirements: { cpu: { guest: 2 }, memory: { guest: "8Gi" } } });
    const r = expandVirtualMachine(vm({ preference: { name: "windows.11" } }), {
      instancetype: it4(),
      preference: needs,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe("PreferenceRequirementsUnmet");
    expect(r.problems).toEqual([
      {
        path: "spec.instancetype.name",
        message:
          "the preference windows.11 needs at least 8Gi of memory; the instancetype u1.medium gives 4Gi",
      },
    ]);
    const own = expandVirtualMachine(
      vm({ instancetype: undefined, preference: { name: "windows.11" }, memory: { guest: "1Gi" } }),
      { preference: needs },
    );
    expect(own.ok ? [] : own.problems.map((p) => p.path)).toEqual(["spec.cpu", "spec.memory.guest"]);
  });

  it("needs memory from somewhere, and says so with the path", () => {
    const r = expandVirtualMachine(vm({ instancetype: undefined, preference: { name: "p" } }), {
      preference: pref("p", {}),
    });
    expect(r.ok ? [] : r.problems).toEqual([
      { path: "spec.memory", message: "memory is required unless an instancetype gives it" },
    ]);
  });

  it("reports a spec that does not parse with spec-prefixed paths, and an unresolved reference", () => {
    const bad = expandVirtualMachine(vm({ runStrategy: "Sometimes" }), { instancetype: it4() });
    expect(bad.ok ? [] : bad.problems.map((p) => p.path)).toEqual(["spec.runStrategy"]);
    const missing = expandVirtualMachine(vm({}), {});
    expect(missing.ok ? [] : missing.problems.map((p) => p.path)).toEqual(["spec.instancetype"]);
  });

  it("leaves a VM without references untouched", () => {
    const plain = { metadata: {}, spec: { memory: { guest: "1Gi" } } };
    const r = expandVirtualMachine(plain, {});
    expect(r.ok && r.vm).toBe(plain);
  });

  it("reads references with their default kinds", () => {
    expect(
      referencesOf({
        instancetype: { name: "a" },
        preference: { kind: "VirtualMachinePreference", name: "b", revisionName: "r" },
      }),
    ).toEqual({
      instancetype: { kind: "VirtualMachineClusterInstancetype", name: "a" },
      preference: { kind: "VirtualMachinePreference", name: "b", revisionName: "r" },
    });
    expect(referencesOf(undefined)).toEqual({});
  });
});
