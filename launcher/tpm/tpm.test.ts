import { describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { QemuArgsError } from "../qemu/errors.ts";
import type { QemuInputs } from "../qemu/inputs.ts";
import { tpmArgs } from "../qemu/devices/tpm.ts";
import { runtimeFiles } from "../qemu/runtime-files.ts";
import { SwtpmArgsError, swtpmArgs, swtpmPlan } from "./swtpm-args.ts";

const vm = (devices: Record<string, unknown>, firmware?: Record<string, unknown>) =>
  parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "win", namespace: "prod", uid: "0a1b2c3d-uid" },
    spec: { memory: { guest: "1Gi" }, devices, ...(firmware ? { firmware } : {}) },
  });
const opts = { allowEmulation: true, defaultBinding: "bridge" as const };
const inputsOf = (config: LauncherConfig) => ({ files: runtimeFiles(config.paths) }) as QemuInputs;

describe("devices.tpm → launcher config", () => {
  it("no TPM unless asked", () => {
    expect(launcherConfigFromVm(vm({}), opts).tpm).toBeUndefined();
  });
  it("keeps the state in the pod's state directory unless persistent", () => {
    const c = launcherConfigFromVm(vm({ tpm: {} }), opts);
    expect(c.tpm).toEqual({ stateDir: "/var/lib/vireo/tpm", persistent: false });
    expect(() => launcherConfigSchema.parse(c)).not.toThrow();
  });
  it("puts a persistent TPM's state on the state claim, re-rooted with the pod paths", () => {
    expect(launcherConfigFromVm(vm({ tpm: { persistent: true } }), opts).tpm).toEqual({
      stateDir: "/var/lib/vireo-state/tpm",
      persistent: true,
    });
    const standalone = launcherConfigFromVm(vm({ tpm: { persistent: true } }), {
      ...opts,
      paths: podPaths("/tmp/w"),
    });
    expect(standalone.tpm?.stateDir).toBe("/tmp/w/var/lib/vireo-state/tpm");
  });
  it("refuses unknown fields (KubeVirt's shape: only persistent)", () => {
    expect(() => vm({ tpm: { enabled: true } })).toThrow(/enabled/);
  });
});

describe("swtpm argv", () => {
  it("TPM 2.0 on a unix control socket, state private to the launcher, ends with its client", () => {
    const config = launcherConfigFromVm(vm({ tpm: { persistent: true } }), opts);
    const plan = swtpmPlan(config, runtimeFiles(config.paths).tpmSocket);
    expect(plan).toEqual({ stateDir: "/var/lib/vireo-state/tpm", ctrlSocket: "/var/run/vireo/swtpm.sock" });
    expect(swtpmArgs(plan!)).toEqual([
      "socket",
      "--tpm2",
      "--tpmstate",
      "dir=/var/lib/vireo-state/tpm,mode=0600",
      "--ctrl",
      "type=unixio,path=/var/run/vireo/swtpm.sock,mode=0600",
      "--terminate",
    ]);
  });
  it("no plan without a TPM", () => {
    expect(swtpmPlan({}, "/run/s.sock")).toBeUndefined();
  });
  it("refuses a path swtpm's option parser would split", () => {
    expect(() => swtpmArgs({ stateDir: "/a,b", ctrlSocket: "/s.sock" })).toThrow(SwtpmArgsError);
    expect(() => swtpmArgs({ stateDir: "/a,b", ctrlSocket: "/s.sock" })).toThrow(/tpm.stateDir/);
  });
});

describe("QEMU argv for the TPM", () => {
  it("an emulator backend on swtpm's socket and a CRB device", () => {
    const config = launcherConfigFromVm(vm({ tpm: {} }), opts);
    expect(tpmArgs({ config, inputs: inputsOf(config) })).toEqual([
      "-chardev",
      "socket,id=chrtpm,path=/var/run/vireo/swtpm.sock",
      "-tpmdev",
      "emulator,id=tpm0,chardev=chrtpm",
      "-device",
      "tpm-crb,id=tpm,tpmdev=tpm0",
    ]);
  });
  it("nothing without a TPM", () => {
    const config = launcherConfigFromVm(vm({}), opts);
    expect(tpmArgs({ config, inputs: inputsOf(config) })).toEqual([]);
  });
  it("doubles a comma in the socket path (QEMU's escape)", () => {
    const config = launcherConfigFromVm(vm({ tpm: {} }), { ...opts, paths: podPaths("/tmp/a,b") });
    expect(tpmArgs({ config, inputs: inputsOf(config) })[1]).toBe(
      "socket,id=chrtpm,path=/tmp/a,,b/var/run/vireo/swtpm.sock",
    );
  });
  it("refuses microvm, which has no ACPI for the guest to find the CRB device", () => {
    const config = { ...launcherConfigFromVm(vm({ tpm: {} }), opts), machine: "microvm" as const };
    expect(() => tpmArgs({ config, inputs: inputsOf(config) })).toThrow(QemuArgsError);
  });
});
