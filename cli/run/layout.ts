import { mkdir, symlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { resolveImagePath, type ImageDirs } from "./images.ts";

/** One step that makes the work directory look like the pod the operator would build. */
export type LayoutStep = { op: "mkdir"; path: string } | { op: "symlink"; path: string; target: string };

/** A volume standalone mode cannot provide (no cluster objects on this host). */
export class StandaloneUnsupportedError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "STANDALONE_UNSUPPORTED";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "StandaloneUnsupportedError";
  }
}

/**
 * What the kubelet and the operator's init containers would put in the pod, planned for a work directory:
 * a PVC becomes an empty directory (the launcher creates its disk.img there), a containerDisk and the
 * kernelBoot files link to local images. Pure apart from resolving image names to existing local paths.
 */
export function planLayout(vm: VirtualMachine, config: LauncherConfig, dirs: ImageDirs): LayoutStep[] {
  const steps: LayoutStep[] = [
    ...Object.values(config.paths).map((path): LayoutStep => ({ op: "mkdir", path })),
  ];
  config.disks.forEach((d, i) => {
    const at = `spec.volumes[${vm.spec.volumes.findIndex((v) => v.name === d.name)}]`;
    const s = d.source;
    switch (s.kind) {
      case "pvcFilesystem":
        steps.push({ op: "mkdir", path: s.mountPath });
        break;
      case "containerDisk":
        steps.push({ op: "symlink", path: s.dir, target: resolveImagePath(s.image, "/", dirs) });
        break;
      case "emptyDisk":
        break;
      case "cloudInit":
        if (s.userDataDir || s.networkDataDir)
          throw new StandaloneUnsupportedError(
            at,
            "cloud-init data from Secrets needs a cluster; use inline userData",
          );
        break;
      case "pvcBlock":
        throw new StandaloneUnsupportedError(`disks[${i}]`, "block-mode claims need a cluster");
      case "configMap":
      case "secret":
        throw new StandaloneUnsupportedError(at, `${s.kind} volumes need a cluster`);
    }
  });
  const kb = vm.spec.firmware.kernelBoot;
  if (kb && config.boot.kind === "kernel") {
    steps.push({
      op: "symlink",
      path: config.boot.kernelPath,
      target: resolveImagePath(kb.image, kb.kernelPath, dirs),
    });
    if (kb.initrdPath && config.boot.initrdPath)
      steps.push({
        op: "symlink",
        path: config.boot.initrdPath,
        target: resolveImagePath(kb.image, kb.initrdPath, dirs),
      });
  }
  return steps;
}

/** Carries the steps out. */
export async function applyLayout(steps: readonly LayoutStep[]): Promise<void> {
  for (const s of steps) {
    if (s.op === "mkdir") await mkdir(s.path, { recursive: true, mode: 0o700 });
    else {
      await mkdir(dirname(s.path), { recursive: true, mode: 0o700 });
      await symlink(s.target, s.path);
    }
  }
}
