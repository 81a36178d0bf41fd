/**
 * KubeVirt's figures, the bar Vireo is measured against (issue 10). These are KubeVirt's published numbers,
 * not measured here: there is no KubeVirt on this machine.
 */

const MiB = 2 ** 20;

/** What KubeVirt's overhead depends on beyond vCPUs and guest RAM, with its defaults. */
export interface KubevirtShape {
  /** IOThreads QEMU runs (KubeVirt's default policy gives one). */
  iothreads?: number;
  /** The VGA device's video RAM, on by default (autoattachGraphicsDevice). */
  video?: boolean;
}

/**
 * Memory KubeVirt adds to a virt-launcher pod's request on top of guest RAM, as its hypervisor backend
 * computes it: a fixed 240 MiB (virt-launcher, its monitor, virtqemud, virtlogd, QEMU's base), 8 MiB per vCPU,
 * 8 MiB per IOThread, 32 MiB of video RAM while the graphics device is attached (the default) and guest RAM
 * / 512 for page tables: ≈290 MiB for 1 vCPU / 1 GiB. Users report 300 MiB and more per pod in practice.
 */
export function kubevirtOverheadBytes(vcpus: number, guestBytes: number, shape: KubevirtShape = {}): number {
  const iothreads = shape.iothreads ?? 1;
  const video = shape.video ?? true;
  return 240 * MiB + 8 * MiB * vcpus + 8 * MiB * iothreads + (video ? 32 * MiB : 0) + guestBytes / 512;
}

/** KubeVirt's VM creation → Running in its 100-VM density runs, seconds (p50 and p95, lower ends). */
export const KUBEVIRT_START_SECONDS = { p50: 15, p95: 20 } as const;

/** Targets of issue 10. */
export const TARGETS = {
  launcherRssMiB: 45,
  nonGuestOverheadMiB: 80,
  startP50Ms: 300,
  scaleConvergeSeconds: 30,
  scaleP99Seconds: 5,
  rss5000MiB: 200,
} as const;
