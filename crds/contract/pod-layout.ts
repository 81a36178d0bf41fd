/**
 * Names inside the launcher pod: directories, sockets, the ready file, the config file, podinfo files, ports
 * and ids. The operator mounts and probes them, the launcher makes and reads them, the CLI execs against
 * them; all three import this file so none can drift from the others.
 */

/**
 * Where things live inside the launcher pod. The operator mounts volumes at these paths and the launcher
 * looks for them there. Standalone mode (`vireo run`) moves everything under a work directory by passing
 * another `root`.
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

/** swtpm's state directory: on the state claim when the TPM is persistent, else in the pod's state directory. */
export function tpmStateDir(paths: Pick<PodPaths, "stateDir">, persistent: boolean): string {
  return persistent ? `${stateClaimDir(paths)}/tpm` : `${paths.stateDir}/tpm`;
}

/** The launcher's sockets in a run directory (what `kubectl exec … vireo-launcher console|pause` needs). */
export interface RunSockets {
  /** QMP control socket (QEMU listens). */
  qmpSocket: string;
  /** QEMU's serial port; only the launcher connects here. */
  serialSocket: string;
  /** The launcher's console socket: `vireo-launcher console` and tests attach here. */
  consoleSocket: string;
  /** The launcher's control socket (pause, unpause, status, logs; control.ts). */
  controlSocket: string;
}

/** The sockets in a run directory. */
export function runSockets(runDir: string): RunSockets {
  return {
    qmpSocket: `${runDir}/qmp.sock`,
    serialSocket: `${runDir}/serial.sock`,
    consoleSocket: `${runDir}/console.sock`,
    controlSocket: `${runDir}/control.sock`,
  };
}

/**
 * The launcher's metrics socket in the run directory (the pod's `run` emptyDir): the device plugin's node
 * collector looks for exactly this name (with the bridge binding the pod IP is the guest's, so this socket is
 * how the per-VM metrics leave the pod).
 */
export const METRICS_SOCKET_NAME = "metrics.sock";

/** The metrics socket of a run directory. */
export function metricsSocketPath(runDir: string): string {
  return `${runDir}/${METRICS_SOCKET_NAME}`;
}

/**
 * The file the launcher creates while the guest runs and removes otherwise, inside the run directory. The pod's
 * readiness is an exec probe on it, not an HTTP probe: with the bridge binding the pod IP belongs to the
 * guest, so the kubelet's request to podIP:9100 would reach the guest.
 */
export const READY_FILE = "ready";

/** The ready marker's path for a run directory. */
export function readyFilePath(runDir: string): string {
  return `${runDir}/${READY_FILE}`;
}

/** Environment variable that may carry the launcher config (`vireo run`, tests); pods get the file below instead. */
export const LAUNCHER_CONFIG_ENV = "VIREO_LAUNCHER_CONFIG";
/** Directory of the downward API volume with the config, in netsetup and the launcher. */
export const LAUNCHER_CONFIG_DIR = "/etc/vireo";
/** The config file the launcher reads when neither `--config` nor {@link LAUNCHER_CONFIG_ENV} is given. */
export const LAUNCHER_CONFIG_FILE = `${LAUNCHER_CONFIG_DIR}/launcher-config.json`;

/** Directory of the downward API volume with pod annotations netsetup reads (Multus' network-status). */
export const PODINFO_DIR = "/etc/podinfo";
/** File name of Multus' network-status annotation inside {@link PODINFO_DIR} (raw JSON). */
export const NETWORK_STATUS_FILE = "network-status";
/** Where netsetup reads Multus' network-status annotation. */
export const NETWORK_STATUS_PATH = `${PODINFO_DIR}/${NETWORK_STATUS_FILE}`;

/** The launcher's HTTP port (metrics, health); never forwarded into the guest. */
export const LAUNCHER_HTTP_PORT = 9100;
/** The TCP port QEMU's VNC server listens on inside the pod (display 0, on 127.0.0.1 only); `vireo vnc` forwards it. */
export const VNC_PORT = 5900;

/**
 * uid of the launcher container and the pod's copy containers: KubeVirt's qemu user. netsetup creates the taps
 * owned by it, and the pod's `fsGroup` makes volumes writable for {@link LAUNCHER_GID}.
 */
export const LAUNCHER_UID = 107;
/** gid of the launcher container (the same number as {@link LAUNCHER_UID}); also the pod's fsGroup. */
export const LAUNCHER_GID = 107;

/** The launcher's executable inside its image (what `kubectl exec` runs). */
export const LAUNCHER_BIN = "vireo-launcher";

/** Where Kubernetes reads a container's termination message by default. */
export const DEFAULT_TERMINATION_LOG = "/dev/termination-log";
/** Environment variable overriding the termination log path (standalone mode, tests). */
export const TERMINATION_LOG_ENV = "VIREO_TERMINATION_LOG";
