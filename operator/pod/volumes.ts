/** Pod volumes, mounts, block devices and copy init containers for a VM's disks, at the launcher's paths. */
import type {
  V1Container,
  V1SecurityContext,
  V1Volume,
  V1VolumeDevice,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { LAUNCHER_GID, LAUNCHER_UID } from "../../crds/contract/index.ts";
import type { LauncherConfig, LauncherDisk } from "../../crds/launcher/config.ts";
import type { ResolvedVm } from "../../crds/launcher/resolve.ts";
import { podLocalName } from "./naming.ts";
import { initContainerResources } from "./resources.ts";
import { ephemeralStorage, mebibytes } from "./ephemeral-storage.ts";

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

/** What one disk adds to the pod. */
interface DiskParts {
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  devices: V1VolumeDevice[];
  steps: CopyStep[];
}

const NOTHING: DiskParts = { volumes: [], mounts: [], devices: [], steps: [] };

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
  // config.disks is r.disks projected in order: each launcher disk beside the volume it came from.
  const sizes = ephemeralStorage(r);
  const parts = config.disks.map((disk, i) => diskParts(disk, r.disks[i]!.volume, sizes.containerDiskBytes));
  const kb = r.vm.spec.firmware.kernelBoot;
  if (kb) parts.push(kernelParts(kb, config.paths.kernelDir, sizes.kernelBytes));
  const out: DiskPlumbing = {
    volumes: parts.flatMap((p) => p.volumes),
    launcherMounts: parts.flatMap((p) => p.mounts),
    launcherDevices: parts.flatMap((p) => p.devices),
    initContainers: [],
  };
  const steps = parts.flatMap((p) => p.steps);
  if (steps.length) {
    out.volumes.push({ name: TOOLS_VOLUME, emptyDir: {} });
    out.initContainers.push(toolsContainer(launcher), ...steps.map(copyContainer));
  }
  return out;
}

function diskParts(
  disk: LauncherDisk,
  volume: ResolvedVm["disks"][number]["volume"],
  containerDiskBytes: number,
): DiskParts {
  const src = disk.source;
  const volName = (prefix: string) => podLocalName(prefix, disk.name);
  switch (src.kind) {
    case "pvcFilesystem":
    case "pvcBlock": {
      const pvc = { claimName: src.claimName, readOnly: disk.readOnly };
      const volumes = [{ name: volName("pvc"), persistentVolumeClaim: pvc }];
      return src.kind === "pvcBlock"
        ? { ...NOTHING, volumes, devices: [{ name: volName("pvc"), devicePath: src.devicePath }] }
        : {
            ...NOTHING,
            volumes,
            mounts: [{ name: volName("pvc"), mountPath: src.mountPath, readOnly: disk.readOnly }],
          };
    }
    case "containerDisk": {
      const pullPolicy = volume.containerDisk?.imagePullPolicy;
      return {
        ...readOnlyVolume(volName("cd"), { emptyDir: { sizeLimit: mebibytes(containerDiskBytes) } }, src.dir),
        steps: [
          {
            name: disk.name,
            image: src.image,
            ...(pullPolicy ? { pullPolicy } : {}),
            script: src.path ? COPY_ONE_FILE : COPY_DISK_DIR,
            args: src.path ? [src.dir, src.path] : [src.dir],
            volume: volName("cd"),
            mountPath: src.dir,
          },
        ],
      };
    }
    case "emptyDisk":
      // Created by the launcher in its state directory.
      return NOTHING;
    case "cloudInit": {
      const ci = volume.cloudInitNoCloud;
      const secrets: [string | undefined, string | undefined, string][] = [
        [src.userDataDir, ci?.userDataSecretRef?.name, "ud"],
        [src.networkDataDir, ci?.networkDataSecretRef?.name, "nd"],
      ];
      const each = secrets.flatMap(([dir, secretName, prefix]) =>
        dir && secretName ? [readOnlyVolume(volName(prefix), { secret: { secretName } }, dir)] : [],
      );
      return { ...NOTHING, volumes: each.flatMap((p) => p.volumes), mounts: each.flatMap((p) => p.mounts) };
    }
    case "configMap":
      return readOnlyVolume(volName("cm"), { configMap: { name: src.name } }, src.mountPath);
    case "secret":
      return readOnlyVolume(volName("secret"), { secret: { secretName: src.name } }, src.mountPath);
  }
}

/** A volume mounted read-only into the launcher. */
function readOnlyVolume(name: string, source: Omit<V1Volume, "name">, mountPath: string): DiskParts {
  return { ...NOTHING, volumes: [{ name, ...source }], mounts: [{ name, mountPath, readOnly: true }] };
}

/** The kernel (and initrd) of kernelBoot, copied out of their image into an emptyDir. */
function kernelParts(
  kb: NonNullable<ResolvedVm["vm"]["spec"]["firmware"]["kernelBoot"]>,
  dir: string,
  kernelBytes: number,
): DiskParts {
  return {
    ...readOnlyVolume("kernel", { emptyDir: { sizeLimit: mebibytes(kernelBytes) } }, dir),
    steps: [
      {
        name: "kernel",
        image: kb.image,
        script: COPY_KERNEL,
        args: [dir, kb.kernelPath, kb.initrdPath ?? ""],
        volume: "kernel",
        mountPath: dir,
      },
    ],
  };
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
