import { describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { buildLauncherPod } from "./build.ts";
import { CONTAINER_DISK_BYTES, KERNEL_BYTES, SCRATCH_BYTES, STATE_BASE_BYTES } from "./ephemeral-storage.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const mi = (bytes: number) => `${bytes / MiB}Mi`;

function pod(spec: Record<string, unknown>) {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "web", namespace: "ns", uid: "00000000-0000-4000-8000-0000000000aa" },
    spec: { memory: { guest: "128Mi" }, ...spec },
  });
  const p = buildLauncherPod(vm, {
    launcherImage: "localhost/vireo-launcher:test",
    imagePullPolicy: "IfNotPresent",
    emulation: true,
    defaultBinding: "passt",
  });
  const volume = (name: string) => p.spec?.volumes?.find((v) => v.name === name)?.emptyDir?.sizeLimit;
  const launcher = p.spec!.containers[0]!.resources!;
  return { volume, launcher };
}

describe("ephemeral storage of the launcher pod", () => {
  it("asks for and limits what the empty disks, containerDisk copies and overlays and the kernel can use", () => {
    const { volume, launcher } = pod({
      firmware: { kernelBoot: { image: "k", kernelPath: "/vmlinuz" } },
      disks: [{ name: "root" }, { name: "scratch" }, { name: "data" }],
      volumes: [
        { name: "root", containerDisk: { image: "img" } },
        { name: "scratch", emptyDisk: { capacity: "2Gi" } },
        { name: "data", emptyDisk: { capacity: "512Mi" } },
      ],
    });
    const state = STATE_BASE_BYTES + 2 * GiB + 512 * MiB + CONTAINER_DISK_BYTES;
    expect(volume("state")).toBe(mi(state));
    expect(volume("cd-root")).toBe(mi(CONTAINER_DISK_BYTES));
    expect(volume("kernel")).toBe(mi(KERNEL_BYTES));
    const total = mi(state + CONTAINER_DISK_BYTES + KERNEL_BYTES + SCRATCH_BYTES);
    expect(launcher.requests?.["ephemeral-storage"]).toBe(total);
    expect(launcher.limits?.["ephemeral-storage"]).toBe(total);
    console.log(`2Gi + 512Mi empty disks, one containerDisk, kernelBoot: ephemeral-storage ${total}`);
  });

  it("a VM with only a PVC asks for the state base and scratch", () => {
    const { volume, launcher } = pod({
      disks: [{ name: "root" }],
      volumes: [{ name: "root", persistentVolumeClaim: { claimName: "root" } }],
    });
    expect(volume("state")).toBe(mi(STATE_BASE_BYTES));
    expect(launcher.requests?.["ephemeral-storage"]).toBe(mi(STATE_BASE_BYTES + SCRATCH_BYTES));
  });
});
