/** Pod volumes, mounts, block devices and copy init containers for a VM's disks, at the launcher's paths. */
import type {
  V1Container,
  V1SecurityContext,
  V1Volume,
  V1VolumeDevice,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { LAUNCHER_GID, LAUNCHER_UID } from "../../crds/contract/index.ts";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import type { ResolvedVm } from "../../crds/launcher/resolve.ts";
import { podLocalName } from "./naming.ts";
import { initContainerResources } from "./resources.ts";

/**
 * busybox-static, copied out of the launcher image: containerDisk and kernel images are usually `FROM scratch`
 * with only their files, so the copy init containers bring their own static `cp`. The launcher image must ship
 * it at this path (Debian's busybox-static package).
 */
export const BUSYBOX_IN_LAUNCHER_IMAGE = "/bin/busybox";
const TOOLS_DIR = "/var/run/vireo-tools";
const TOOLS_VOLUME = "tools";

/** Non-root, no capabilities, read-only root: every container of the pod except netsetup. */
export function unprivileged(): V1SecurityContext {
  return {
    runAsUser: LAUNCHER_UID,
    runAsGroup: LAUNCHER_GID,
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  };
}

/** What the disks add to the pod. */
export interface DiskPlumbing {
  volumes: V1Volume[];
  launcherMounts: V1VolumeMount[];
  launcherDevices: V1VolumeDevice[];
  initContainers: V1Container[];
}

interface CopyStep {
  /** Container name suffix source (volume name or "kernel"). */
  name: string;
  image: string;
  pullPolicy?: string;
  /** Shell script run by busybox sh; `$1`, `$2`… are `args`. */
  script: string;
  args: string[];
  /** The emptyDir receiving the files, and where it is mounted. */
  volume: string;
  mountPath: string;
}

function copyContainer(step: CopyStep): V1Container {
  return {
    name: podLocalName("copy", step.name),
    image: step.image,
    ...(step.pullPolicy ? { imagePullPolicy: step.pullPolicy } : {}),
    command: [`${TOOLS_DIR}/busybox`, "sh", "-c", step.script, "copy", ...step.args],
    securityContext: unprivileged(),
    resources: initContainerResources(),
    volumeMounts: [
      { name: TOOLS_VOLUME, mountPath: TOOLS_DIR, readOnly: true },
      { name: step.volume, mountPath: step.mountPath },
    ],
  };
}

// The image keeps its disk under /disk/ (KubeVirt's convention); the launcher looks for the copy's contents
// directly in its directory, or for `dir + path` when the VM names a file.
const COPY_DISK_DIR = 'cp -r /disk/. "$1"/';
const COPY_ONE_FILE = 'mkdir -p "$(dirname "$1$2")" && cp "$2" "$1$2"';
const COPY_KERNEL = 'cp "$2" "$1/kernel" && if [ -n "$3" ]; then cp "$3" "$1/initrd"; fi';

/**
 * Resolves every disk of the launcher config to what the pod needs: PVCs as volumes (Filesystem) or
 * volumeDevices (Block), containerDisks and the kernel as emptyDirs filled by copy init containers, cloud-init
 * Secrets, ConfigMaps and Secrets as read-only volumes. Paths come from the launcher config, which comes from
 * `podPaths()`, so the launcher finds everything where it looks.
 */
export function diskPlumbing(
  r: ResolvedVm,
  config: LauncherConfig,
  launcher: { image: string; pullPolicy: string },
): DiskPlumbing {
  const out: DiskPlumbing = { volumes: [], launcherMounts: [], launcherDevices: [], initContainers: [] };
  const steps: CopyStep[] = [];
  // config.disks is r.disks projected in order: each launcher disk beside the volume it came from.
  for (const [i, disk] of config.disks.entries()) {
    const volume = r.disks[i]!.volume;
    const src = disk.source;
    const volName = (prefix: string) => podLocalName(prefix, disk.name);
    switch (src.kind) {
      case "pvcFilesystem":
        out.volumes.push({
          name: volName("pvc"),
          persistentVolumeClaim: { claimName: src.claimName, readOnly: disk.readOnly },
        });
        out.launcherMounts.push({ name: volName("pvc"), mountPath: src.mountPath, readOnly: disk.readOnly });
        break;
      case "pvcBlock":
        out.volumes.push({
          name: volName("pvc"),
          persistentVolumeClaim: { claimName: src.claimName, readOnly: disk.readOnly },
        });
        out.launcherDevices.push({ name: volName("pvc"), devicePath: src.devicePath });
        break;
      case "containerDisk": {
        const v = volume.containerDisk;
        out.volumes.push({ name: volName("cd"), emptyDir: {} });
        out.launcherMounts.push({ name: volName("cd"), mountPath: src.dir, readOnly: true });
        steps.push({
          name: disk.name,
          image: src.image,
          ...(v?.imagePullPolicy ? { pullPolicy: v.imagePullPolicy } : {}),
          script: src.path ? COPY_ONE_FILE : COPY_DISK_DIR,
          args: src.path ? [src.dir, src.path] : [src.dir],
          volume: volName("cd"),
          mountPath: src.dir,
        });
        break;
      }
      case "emptyDisk":
        // Created by the launcher in its state directory.
        break;
      case "cloudInit": {
        const ci = volume.cloudInitNoCloud;
        const secrets: [string | undefined, string | undefined, string][] = [
          [src.userDataDir, ci?.userDataSecretRef?.name, "ud"],
          [src.networkDataDir, ci?.networkDataSecretRef?.name, "nd"],
        ];
        for (const [dir, secretName, prefix] of secrets) {
          if (!dir || !secretName) continue;
          out.volumes.push({ name: volName(prefix), secret: { secretName } });
          out.launcherMounts.push({ name: volName(prefix), mountPath: dir, readOnly: true });
        }
        break;
      }
      case "configMap":
        out.volumes.push({ name: volName("cm"), configMap: { name: src.name } });
        out.launcherMounts.push({ name: volName("cm"), mountPath: src.mountPath, readOnly: true });
        break;
      case "secret":
        out.volumes.push({ name: volName("secret"), secret: { secretName: src.name } });
        out.launcherMounts.push({ name: volName("secret"), mountPath: src.mountPath, readOnly: true });
        break;
    }
  }
  const kb = r.vm.spec.firmware.kernelBoot;
  if (kb) {
    out.volumes.push({ name: "kernel", emptyDir: {} });
    out.launcherMounts.push({ name: "kernel", mountPath: config.paths.kernelDir, readOnly: true });
    steps.push({
      name: "kernel",
      image: kb.image,
      script: COPY_KERNEL,
      args: [config.paths.kernelDir, kb.kernelPath, kb.initrdPath ?? ""],
      volume: "kernel",
      mountPath: config.paths.kernelDir,
    });
  }
  if (steps.length) {
    out.volumes.push({ name: TOOLS_VOLUME, emptyDir: {} });
    out.initContainers.push(toolsContainer(launcher), ...steps.map(copyContainer));
  }
  return out;
}

function toolsContainer(launcher: { image: string; pullPolicy: string }): V1Container {
  return {
    name: "tools",
    image: launcher.image,
    imagePullPolicy: launcher.pullPolicy,
    command: ["cp", BUSYBOX_IN_LAUNCHER_IMAGE, `${TOOLS_DIR}/busybox`],
    securityContext: unprivileged(),
    resources: initContainerResources(),
    volumeMounts: [{ name: TOOLS_VOLUME, mountPath: TOOLS_DIR }],
  };
}
