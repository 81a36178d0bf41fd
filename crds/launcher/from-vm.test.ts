import { describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../api/validate.ts";
import { launcherConfigSchema } from "./config.ts";
import { launcherConfigFromVm } from "./from-vm.ts";
import { deriveMac } from "./mac.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { podPaths, stateClaimDir } from "../contract/index.ts";

const vm = (spec: Record<string, unknown>) =>
  parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "web", namespace: "prod", uid: "1234-uid" },
    spec: { memory: { guest: "1Gi" }, ...spec },
  });

describe("launcherConfigFromVm", () => {
  it("resolves every volume kind to pod paths and passes the strict launcher schema", () => {
    const v = vm({
      disks: [
        { name: "root", bootOrder: 1 },
        { name: "blk" },
        { name: "base" },
        { name: "scratch" },
        { name: "ci" },
        { name: "cfg" },
      ],
      volumes: [
        { name: "root", persistentVolumeClaim: { claimName: "root-pvc" } },
        { name: "blk", persistentVolumeClaim: { claimName: "blk-pvc", readOnly: true } },
        { name: "base", containerDisk: { image: "example/disk:1" } },
        { name: "scratch", emptyDisk: { capacity: "2Gi" } },
        { name: "ci", cloudInitNoCloud: { userDataSecretRef: { name: "ud" }, networkData: "version: 2" } },
        { name: "cfg", configMap: { name: "settings" } },
      ],
    });
    const cfg = launcherConfigFromVm(v, {
      allowEmulation: true,
      defaultBinding: "bridge",
      claims: {
        "root-pvc": { volumeMode: "Filesystem", capacityBytes: 10 * 2 ** 30 },
        "blk-pvc": { volumeMode: "Block" },
      },
    });
    expect(launcherConfigSchema.parse(cfg)).toEqual(cfg);
    const src = Object.fromEntries(cfg.disks.map((d) => [d.name, d]));
    expect(src.root!.source).toEqual({
      kind: "pvcFilesystem",
      mountPath: "/var/run/vireo/volumes/root",
      claimName: "root-pvc",
      capacityBytes: 10 * 2 ** 30,
    });
    expect(src.blk!.source).toEqual({ kind: "pvcBlock", devicePath: "/dev/vireo/blk", claimName: "blk-pvc" });
    expect(src.blk!.readOnly).toBe(true);
    expect(src.scratch!.source).toEqual({ kind: "emptyDisk", capacityBytes: 2 * 2 ** 30 });
    expect(src.ci!.source).toMatchObject({
      kind: "cloudInit",
      instanceId: "1234-uid",
      hostname: "web",
      userDataDir: "/var/run/vireo/volumes/ci-userdata",
      networkData: "version: 2",
    });
    expect(src.ci!.readOnly).toBe(true);
    expect(src.cfg!.readOnly).toBe(true);
    expect(cfg.memory.guestBytes).toBe(2 ** 30);
    expect(cfg.boot).toEqual({ kind: "bios" });
  });

  it("gives NICs stable derived MACs and the cluster's default binding", () => {
    const a = launcherConfigFromVm(vm({}), { allowEmulation: false, defaultBinding: "masquerade" });
    const b = launcherConfigFromVm(vm({}), { allowEmulation: false, defaultBinding: "masquerade" });
    expect(a.interfaces[0]!.mac).toBe(deriveMac("prod", "web", "default"));
    expect(a.interfaces[0]!.mac).toBe(b.interfaces[0]!.mac);
    expect(a.interfaces[0]!.mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(a.interfaces[0]).toMatchObject({
      binding: "masquerade",
      network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
    });
    expect(deriveMac("prod", "web", "other")).not.toBe(a.interfaces[0]!.mac);
  });

  it("uses kernel boot paths and re-rooted paths in standalone mode", () => {
    const v = vm({
      firmware: {
        kernelBoot: {
          image: "g",
          kernelPath: "/boot/vmlinuz",
          initrdPath: "/boot/initrd",
          cmdline: "console=ttyS0",
        },
      },
    });
    const cfg = launcherConfigFromVm(v, {
      allowEmulation: true,
      defaultBinding: "bridge",
      paths: podPaths("/tmp/w"),
    });
    expect(cfg.boot).toEqual({
      kind: "kernel",
      kernelPath: "/tmp/w/var/run/vireo/kernel/kernel",
      initrdPath: "/tmp/w/var/run/vireo/kernel/initrd",
      cmdline: "console=ttyS0",
    });
  });

  it("keeps UEFI variables on the state claim only when the VM asks for it", () => {
    const opts = { allowEmulation: true, defaultBinding: "bridge" as const };
    const plain = launcherConfigFromVm(vm({ firmware: { uefi: {} } }), opts);
    expect(plain.boot).toEqual({ kind: "uefi", secureBoot: false });
    expect(runtimeFiles(plain.paths, plain.boot).uefiVars).toBe("/var/lib/vireo/uefi-vars.fd");

    const kept = launcherConfigFromVm(
      vm({ firmware: { uefi: { persistent: true, secureBoot: true } } }),
      opts,
    );
    expect(kept.boot).toEqual({
      kind: "uefi",
      secureBoot: true,
      varsFile: "/var/lib/vireo-state/uefi-vars.fd",
    });
    expect(runtimeFiles(kept.paths, kept.boot).uefiVars).toBe("/var/lib/vireo-state/uefi-vars.fd");
    expect(() => launcherConfigSchema.parse(kept)).not.toThrow();

    const standalone = launcherConfigFromVm(vm({ firmware: { uefi: { persistent: true } } }), {
      ...opts,
      paths: podPaths("/tmp/w"),
    });
    expect(standalone.boot).toMatchObject({ varsFile: "/tmp/w/var/lib/vireo-state/uefi-vars.fd" });
    expect(stateClaimDir(standalone.paths)).toBe("/tmp/w/var/lib/vireo-state");
  });
});
