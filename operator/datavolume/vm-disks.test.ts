import { describe, expect, it } from "vitest";
import { virtualMachineSchema, type VirtualMachine } from "../../crds/api/virtual-machine.ts";
import {
  dataVolumeNamesOf,
  dataVolumeWait,
  templateDataVolumes,
  withDataVolumeClaims,
  type DataVolumeFacts,
} from "./vm-disks.ts";

const vm: VirtualMachine = virtualMachineSchema.parse({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "web", namespace: "ns", uid: "vm-uid" },
  spec: {
    memory: { guest: "1Gi" },
    disks: [{ name: "root" }, { name: "data" }],
    volumes: [
      { name: "root", dataVolume: { name: "web-root" } },
      { name: "data", persistentVolumeClaim: { claimName: "data" } },
    ],
    dataVolumeTemplates: [
      {
        metadata: { name: "web-root" },
        spec: { source: { http: { url: "http://h/d.qcow2" } }, storage: { size: "4Gi" }, format: "qcow2" },
      },
    ],
  },
});
const done: DataVolumeFacts = { found: true, uid: "u", phase: "Succeeded", format: "qcow2" };

describe("a VM and its DataVolumes", () => {
  it("names them from volumes and templates, whatever the input", () => {
    expect(dataVolumeNamesOf(vm.spec)).toEqual(["web-root"]);
    expect(dataVolumeNamesOf(undefined)).toEqual([]);
    expect(dataVolumeNamesOf({ volumes: [{ dataVolume: { name: 3 } }] })).toEqual([]);
  });
  it("creates a template's DataVolume, controlled by the VM, only while it is missing", () => {
    const [dv] = templateDataVolumes(vm, { "web-root": { found: false } });
    expect(dv?.metadata).toMatchObject({
      name: "web-root",
      namespace: "ns",
      labels: { "vireo.dev/vm": "web" },
      ownerReferences: [{ kind: "VirtualMachine", name: "web", uid: "vm-uid", controller: true }],
    });
    expect(dv?.spec.format).toBe("qcow2");
    expect(templateDataVolumes(vm, { "web-root": done })).toEqual([]);
  });
  it("turns a dataVolume volume into its claim with the declared format", () => {
    const out = withDataVolumeClaims(vm, { "web-root": done });
    expect(out.spec.volumes[0]).toEqual({
      name: "root",
      persistentVolumeClaim: { claimName: "web-root", readOnly: false, format: "qcow2" },
    });
    expect(out.spec.volumes[1]).toBe(vm.spec.volumes[1]);
  });
  it.each([
    [{ found: false } as DataVolumeFacts, "Provisioning", "DataVolumeNotFound", false],
    [
      { found: true, uid: "u", format: "raw", phase: "Pending" } as DataVolumeFacts,
      "WaitingForVolumeBinding",
      "DataVolumePending",
      false,
    ],
    [
      { found: true, uid: "u", format: "raw", phase: "ImportInProgress", progress: "40%" } as DataVolumeFacts,
      "Provisioning",
      "DataVolumeImporting",
      false,
    ],
    [
      {
        found: true,
        uid: "u",
        format: "raw",
        phase: "Failed",
        reason: "ChecksumMismatch",
        message: "sha256 differs",
      } as DataVolumeFacts,
      "DataVolumeError",
      "DataVolumeFailed",
      true,
    ],
  ])("waits while a DataVolume is %j", (facts, printable, reason, failed) => {
    expect(dataVolumeWait({ "web-root": facts })).toMatchObject({ printable, reason, failed });
  });
  it("does not wait once every DataVolume has Succeeded; a failure outranks a wait", () => {
    expect(dataVolumeWait({ "web-root": done })).toBeUndefined();
    const failed: DataVolumeFacts = {
      found: true,
      uid: "u",
      format: "raw",
      phase: "Failed",
      reason: "NotAnImage",
      message: "html",
    };
    expect(
      dataVolumeWait({ a: { found: true, uid: "u", format: "raw", phase: "ImportInProgress" }, b: failed })
        ?.message,
    ).toContain("b failed: NotAnImage");
  });
});
