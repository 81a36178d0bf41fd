import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { COMMON_INSTANCETYPES } from "./instancetype-common.ts";
import { expandVirtualMachine } from "./instancetype-expand.ts";
import { commonProfileObjects, commonProfiles, resolveOffline } from "./instancetype-objects.ts";
import { COMMON_PREFERENCES } from "./preference-common.ts";
import { parseQuantity } from "./quantity.ts";
import { validateVirtualMachine } from "./validate.ts";

const root = join(import.meta.dirname, "..", "..");

/** A VM as a user writes it against the shipped set: no cpu, no memory, one disk, the default NIC. */
const vmWith = (instancetype: string, preference: string) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "guest" },
  spec: {
    instancetype: { name: instancetype },
    preference: { name: preference },
    disks: [{ name: "root" }],
    volumes: [{ name: "root", containerDisk: { image: "example/os" } }],
  },
});

describe("the shipped instancetypes and preferences", () => {
  it("are named as KubeVirt's common set", () => {
    expect(COMMON_INSTANCETYPES.map((i) => i.name)).toEqual([
      "u1.nano",
      "u1.micro",
      "u1.small",
      "u1.medium",
      "u1.2xmedium",
      "u1.large",
      "u1.xlarge",
      "u1.2xlarge",
      "m1.large",
      "m1.xlarge",
      "m1.2xlarge",
      "cx1.medium",
      "cx1.large",
      "cx1.xlarge",
      "cx1.2xlarge",
    ]);
    expect(COMMON_PREFERENCES.map((p) => p.name)).toEqual([
      "debian",
      "ubuntu",
      "fedora",
      "centos.stream9",
      "windows.10",
      "windows.11",
      "windows.2k22",
      "freebsd",
      "openbsd",
    ]);
  });

  it("each parses with its kind's schema, and the description says its size", () => {
    const profiles = commonProfiles();
    expect(profiles).toHaveLength(COMMON_INSTANCETYPES.length + COMMON_PREFERENCES.length);
    for (const i of COMMON_INSTANCETYPES) {
      const bytes = parseQuantity(i.spec.memory.guest) ?? 0;
      expect(i.description).toBe(
        `${i.spec.cpu.guest} vCPU${i.spec.cpu.guest > 1 ? "s" : ""}, ${i.spec.memory.guest} memory`,
      );
      expect(bytes % 2 ** 21, i.name).toBe(0); // whole hugepages, whether or not the instancetype asks for them
    }
  });

  it("every instancetype × preference pair expands into a valid VM, or is refused only for the preference's minimum", () => {
    const profiles = commonProfiles();
    const refused: string[] = [];
    for (const i of COMMON_INSTANCETYPES)
      for (const p of COMMON_PREFERENCES) {
        const raw = vmWith(i.name, p.name);
        const inputs = resolveOffline(raw, profiles);
        expect(inputs.ok).toBe(true);
        if (!inputs.ok) continue;
        const r = expandVirtualMachine(raw, inputs.inputs);
        if (!r.ok) {
          expect(r.code, `${i.name} × ${p.name}: ${JSON.stringify(r.problems)}`).toBe(
            "PreferenceRequirementsUnmet",
          );
          refused.push(`${i.name}×${p.name}`);
          continue;
        }
        const v = validateVirtualMachine(r.vm);
        expect(v.ok, `${i.name} × ${p.name}: ${v.ok ? "" : JSON.stringify(v.problems)}`).toBe(true);
        if (!v.ok) continue;
        expect(v.vm.spec.cpu.sockets).toBe(i.spec.cpu.guest);
        expect(v.vm.spec.memory.guest).toBe(i.spec.memory.guest);
        if (i.name.startsWith("cx1."))
          expect(v.vm.spec.cpu).toMatchObject({
            dedicatedCpuPlacement: true,
            isolateEmulatorThread: true,
            numa: { guestMappingPassthrough: {} },
          });
        else expect(v.vm.spec.cpu.dedicatedCpuPlacement).toBeUndefined();
        if (p.name.startsWith("windows")) {
          expect(v.vm.spec.disks[0]!.bus).toBe("sata");
          expect(v.vm.spec.interfaces[0]!.model).toBe("e1000e");
          expect(v.vm.spec.firmware).toEqual({ uefi: { secureBoot: true } });
          expect(v.vm.spec.features?.hyperv?.synic).toEqual({ enabled: true });
          expect(v.vm.spec.clock).toMatchObject({ base: "localtime", timer: { hpet: { present: false } } });
        } else {
          expect(v.vm.spec.features).toBeUndefined();
          expect(v.vm.spec.disks[0]!.bus).toBe("virtio");
          expect(v.vm.spec.firmware).toEqual({ bios: {} });
        }
      }
    // The refusals are exactly the pairs below the preferences' documented minimums.
    expect(refused).toEqual(
      expect.arrayContaining([
        "u1.nano×debian",
        "u1.nano×windows.11",
        "u1.medium×windows.11",
        "u1.micro×ubuntu",
      ]),
    );
    expect(refused).not.toContain("u1.2xmedium×windows.11");
    expect(refused.filter((r) => r.startsWith("m1."))).toEqual([]);
  });

  it("are what the chart ships (files/common-profiles.yaml; run `npm run gen` when this fails)", () => {
    const text = readFileSync(join(root, "charts/vireo/files/common-profiles.yaml"), "utf8");
    expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual(commonProfileObjects());
  });
});
