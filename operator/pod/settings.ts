/** What shapes a launcher pod besides the VM: cluster settings and looked-up facts. */
import type { ClaimFacts } from "../../crds/launcher/resolve.ts";

/** Cluster settings and looked-up facts that shape the pod besides the VM itself. */
export interface PodInputs {
  /** The launcher image (also runs netsetup and provides busybox for the copy containers). */
  launcherImage: string;
  /** Pull policy of the launcher image. */
  imagePullPolicy: "Always" | "IfNotPresent" | "Never";
  /** TCG allowed and /dev/kvm not requested. */
  emulation: boolean;
  /** Binding of pod-network NICs that do not name one. */
  defaultBinding: "bridge" | "masquerade" | "passt";
  /** Image pull Secrets (names in the VM's namespace) for the launcher image. */
  imagePullSecrets?: readonly string[];
  /** Replaces the fixed part of the memory overhead, in bytes. */
  memoryOverheadBaseBytes?: number;
  /** The VM's PVCs by claim name (volumeMode decides volume vs volumeDevice). */
  claims?: Record<string, ClaimFacts>;
  /** Consecutive quick failures before this pod (crash-loop back-off), recorded on the pod. */
  startFailures?: number;
  /**
   * Who plumbs taps: the `netsetup` init container (root, NET_ADMIN; needs a Pod Security `privileged`
   * namespace) or, with `node`, the device plugin's node agent (no privilege in the pod).
   */
  networkSetup?: "initContainer" | "node";
}

/** What shapes the pod of an already resolved VM (claims and binding are in the resolution). */
export type PodSettings = Omit<PodInputs, "claims" | "defaultBinding">;
