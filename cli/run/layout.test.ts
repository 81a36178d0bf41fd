import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { planLayout } from "./layout.ts";

const dir = mkdtempSync(join(tmpdir(), "vireo-layout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = join(dir, "cache");
mkdirSync(join(cache, "guest/current"), { recursive: true });
writeFileSync(join(cache, "guest/current/vmlinuz"), "");
writeFileSync(join(cache, "guest/current/initramfs.cpio.gz"), "");
mkdirSync(join(dir, "images/example.com/base/1"), { recursive: true });
const dirs = { cache, images: join(dir, "images") };

const vmWith = (spec: Record<string, unknown>) =>
  parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "demo", namespace: "default" },
    spec: { memory: { guest: "256Mi" }, interfaces: [], networks: [], ...spec },
  });

describe("planLayout", () => {
  it("turns PVCs into directories and links containerDisks and kernelBoot files to local images", () => {
    const vm = vmWith({
      firmware: {
        kernelBoot: {
          image: "vireo.dev/test-guest",
          kernelPath: "/boot/vmlinuz",
          initrdPath: "/boot/initramfs.cpio.gz",
        },
      },
      disks: [{ name: "root" }, { name: "base" }, { name: "scratch" }],
      volumes: [
        { name: "root", persistentVolumeClaim: { claimName: "root-pvc" } },
        { name: "base", containerDisk: { image: "example.com/base:1" } },
        { name: "scratch", emptyDisk: { capacity: "1Gi" } },
      ],
    });
    const w = join(dir, "w");
    const config = launcherConfigFromVm(vm, {
      allowEmulation: true,
      defaultBinding: "bridge",
      paths: podPaths(w),
    });
    const steps = planLayout(vm, config, dirs);
    expect(steps).toContainEqual({ op: "mkdir", path: `${w}/var/run/vireo/volumes/root` });
    expect(steps).toContainEqual({
      op: "symlink",
      path: `${w}/var/run/vireo/container-disks/base`,
      target: join(dir, "images/example.com/base/1/"),
    });
    expect(steps).toContainEqual({
      op: "symlink",
      path: `${w}/var/run/vireo/kernel/kernel`,
      target: join(cache, "guest/current/vmlinuz"),
    });
    expect(steps).toContainEqual({
      op: "symlink",
      path: `${w}/var/run/vireo/kernel/initrd`,
      target: join(cache, "guest/current/initramfs.cpio.gz"),
    });
  });

  it("refuses volumes that need a cluster, naming the volume", () => {
    const vm = vmWith({
      disks: [{ name: "cfg" }],
      volumes: [{ name: "cfg", configMap: { name: "settings" } }],
    });
    const config = launcherConfigFromVm(vm, {
      allowEmulation: true,
      defaultBinding: "bridge",
      paths: podPaths(dir),
    });
    expect(() => planLayout(vm, config, dirs)).toThrowError(
      /spec.volumes\[0\]: configMap volumes need a cluster/,
    );
  });
});
