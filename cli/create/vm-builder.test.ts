import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateVirtualMachine } from "../../crds/api/validate.ts";
import { buildVm, CreateVmError, parseDiskFlag, vmYaml, withSshKeys } from "./vm-builder.ts";

const base = { name: "web", disks: [], sshKeys: [] };
const err = (f: () => unknown): CreateVmError => {
  try {
    f();
  } catch (e) {
    if (e instanceof CreateVmError) return e;
    throw e;
  }
  throw new Error("did not throw");
};

describe("buildVm", () => {
  it("makes a minimal VM with the defaults of virtctl (512Mi, Always, pod network)", () => {
    expect(buildVm(base)).toEqual({
      apiVersion: "vireo.dev/v1alpha1",
      kind: "VirtualMachine",
      metadata: { name: "web" },
      spec: { runStrategy: "Always", memory: { guest: "512Mi" } },
    });
  });

  it("maps disks, cpu, memory, run strategy and namespace; the YAML round-trips through the schema", () => {
    const vm = buildVm({
      ...base,
      namespace: "prod",
      memory: "2Gi",
      cpu: "2",
      runStrategy: "Halted",
      disks: [
        parseDiskFlag("containerdisk", "src:quay.io/containerdisks/debian:12,bootorder:1"),
        parseDiskFlag("pvc", "src:data,name:data"),
        parseDiskFlag("blank", "size:1Gi"),
      ],
    });
    expect(vm.spec).toEqual({
      runStrategy: "Halted",
      cpu: { cores: 2 },
      memory: { guest: "2Gi" },
      disks: [{ name: "containerdisk-0", bootOrder: 1 }, { name: "data" }, { name: "blank-0" }],
      volumes: [
        { name: "containerdisk-0", containerDisk: { image: "quay.io/containerdisks/debian:12" } },
        { name: "data", persistentVolumeClaim: { claimName: "data" } },
        { name: "blank-0", emptyDisk: { capacity: "1Gi" } },
      ],
    });
    expect(vm.metadata.namespace).toBe("prod");
    expect(validateVirtualMachine(parse(vmYaml(vm))).ok).toBe(true);
  });

  it("puts ssh keys into cloud-init user-data", () => {
    const vm = buildVm({ ...base, sshKeys: ["ssh-ed25519 AAAA a@b"] });
    const vol = vm.spec.volumes!.at(-1)!;
    expect(vol.name).toBe("cloudinit");
    const ud = vol.cloudInitNoCloud!.userData!;
    expect(ud.startsWith("#cloud-config\n")).toBe(true);
    expect(parse(ud)).toEqual({ ssh_authorized_keys: ["ssh-ed25519 AAAA a@b"] });
    expect(vm.spec.disks!.at(-1)).toEqual({ name: "cloudinit" });
  });

  it("keeps a long key on one line (no YAML folding)", () => {
    const key = `ssh-rsa ${"A".repeat(372)} user@host with spaces in the comment`;
    const ud = buildVm({ ...base, sshKeys: [key] }).spec.volumes!.at(-1)!.cloudInitNoCloud!.userData!;
    expect(ud).toContain(`  - ${key}\n`);
    expect(vmYaml(buildVm({ ...base, sshKeys: [key] }))).toContain(key);
  });

  it("merges ssh keys into a #cloud-config file, and refuses a script", () => {
    const ud = withSshKeys("#cloud-config\nusers: [default]\nssh_authorized_keys: [k1]\n", ["k2"])!;
    expect(parse(ud)).toEqual({ users: ["default"], ssh_authorized_keys: ["k1", "k2"] });
    expect(err(() => withSshKeys("#!/bin/sh\necho hi\n", ["k"])).flag).toBe("--ssh-key");
    expect(withSshKeys("#!/bin/sh\n", [])).toBe("#!/bin/sh\n");
  });

  it("names the flag, the field path and the cause of a bad value", () => {
    const mem = err(() => buildVm({ ...base, memory: "lots" }));
    expect(mem.flag).toBe("--memory");
    expect(mem.path).toBe("spec.memory.guest");
    expect(mem.message).toMatch(/^--memory: spec\.memory\.guest: must be a Kubernetes quantity/);
    expect(mem.cause).toBeDefined();
    expect(err(() => buildVm({ ...base, memory: "1Mi" })).message).toMatch(/guest memory must be between/);
    expect(err(() => buildVm({ ...base, cpu: "0" })).path).toBe("spec.cpu.cores");
    expect(err(() => buildVm({ ...base, cpu: "two" })).flag).toBe("--cpu");
    expect(err(() => buildVm({ ...base, runStrategy: "Sometimes" })).flag).toBe("--run-strategy");
    expect(err(() => buildVm({ ...base, name: "Web.1" })).flag).toBe("NAME");
    const blank = err(() => buildVm({ ...base, disks: [parseDiskFlag("blank", "size:1k")] }));
    expect(blank.flag).toBe("--volume-blank size:1k");
    expect(blank.path).toBe("spec.volumes[0].emptyDisk.capacity");
    const pvc = err(() => buildVm({ ...base, disks: [parseDiskFlag("pvc", "src:Bad_Claim")] }));
    expect(pvc.flag).toBe("--volume-pvc src:Bad_Claim");
    const dup = err(() =>
      buildVm({
        ...base,
        disks: [parseDiskFlag("pvc", "src:a,name:x"), parseDiskFlag("pvc", "src:b,name:x")],
      }),
    );
    expect(dup.flag).toMatch(/^--volume-pvc/);
  });

  it("refuses instancetype and preference: the API has neither", () => {
    expect(err(() => buildVm({ ...base, instancetype: "u1.small" })).message).toMatch(/no instancetype yet/);
    expect(err(() => buildVm({ ...base, preference: "fedora" })).flag).toBe("--preference");
  });
});

describe("parseDiskFlag", () => {
  it("parses keys and refuses unknown or missing ones", () => {
    expect(parseDiskFlag("pvc", "src:c,name:n,bootorder:2")).toMatchObject({
      source: "c",
      name: "n",
      bootOrder: 2,
    });
    expect(err(() => parseDiskFlag("pvc", "claim:c")).message).toMatch(/unknown key "claim"/);
    expect(err(() => parseDiskFlag("blank", "src:x")).message).toMatch(/unknown key "src"/);
    expect(err(() => parseDiskFlag("containerdisk", "name:x")).message).toMatch(/needs src/);
    expect(err(() => parseDiskFlag("pvc", "src:c,bootorder:x")).message).toMatch(/bootorder/);
    expect(err(() => parseDiskFlag("pvc", "c")).flag).toBe("--volume-pvc c");
  });
});
