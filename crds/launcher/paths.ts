/**
 * Where things live inside the launcher pod. The operator mounts volumes at these paths and the launcher
 * looks for them there; both import this file so the two cannot drift apart. Standalone mode (`vireo run`)
 * moves everything under a work directory by passing another `root`.
 */
export interface PodPaths {
  /** Sockets (QMP, serial console, control), pid files. */
  runDir: string;
  /** Ephemeral state: overlays, empty disks, cloud-init ISO, UEFI vars. */
  stateDir: string;
  /** Filesystem volumes (PVC, ConfigMap, Secret) are mounted under here by volume name. */
  volumesDir: string;
  /** Block-mode PVCs appear under here by volume name. */
  blockDir: string;
  /** containerDisk images are copied or mounted under here by volume name. */
  containerDisksDir: string;
  /** Kernel boot files (kernel, initrd) are placed here. */
  kernelDir: string;
}

/** Paths inside a launcher pod, optionally re-rooted (standalone mode, tests). */
export function podPaths(root = ""): PodPaths {
  return {
    runDir: `${root}/var/run/vireo`,
    stateDir: `${root}/var/lib/vireo`,
    volumesDir: `${root}/var/run/vireo/volumes`,
    blockDir: `${root}/dev/vireo`,
    containerDisksDir: `${root}/var/run/vireo/container-disks`,
    kernelDir: `${root}/var/run/vireo/kernel`,
  };
}

/**
 * Where the VM's state claim is mounted (UEFI variables): beside `stateDir`, so standalone mode's re-rooted
 * layout moves it too. Not part of {@link PodPaths}: only VMs with a state claim have it.
 */
export function stateClaimDir(paths: Pick<PodPaths, "stateDir">): string {
  return `${paths.stateDir.replace(/\/[^/]*$/, "")}/vireo-state`;
}

/** The persistent UEFI variable store on the state claim. */
export function persistentUefiVars(paths: Pick<PodPaths, "stateDir">): string {
  return `${stateClaimDir(paths)}/uefi-vars.fd`;
}
