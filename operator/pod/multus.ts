/** Secondary (Multus) networks: the pod's attachment request and the network-status file netsetup reads. */
import type { V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { LauncherConfig } from "../../crds/launcher/config.ts";

import {
  MULTUS_NETWORKS_ANNOTATION,
  MULTUS_NETWORK_STATUS_ANNOTATION,
  NETWORK_STATUS_FILE,
  PODINFO_DIR,
} from "../../crds/contract/index.ts";

const PODINFO_VOLUME = "podinfo";

/** What a VM with Multus networks adds to its pod; empty for a VM without. */
export interface MultusPlumbing {
  annotations: Record<string, string>;
  volumes: V1Volume[];
  netsetupMounts: V1VolumeMount[];
}

/**
 * The Multus request (`name` or `namespace/name`, in NIC order, which is also the order Multus attaches them)
 * and a downward API volume with the network-status annotation for netsetup, which finds each network's pod
 * interface there. Multus writes that annotation only while the sandbox is set up; the kubelet refreshes the
 * file from the updated pod, so its reader must tolerate an empty file at first.
 */
export function multusPlumbing(config: LauncherConfig): MultusPlumbing {
  const names = config.interfaces.flatMap((i) =>
    i.network.kind === "multus" ? [i.network.networkName] : [],
  );
  if (names.length === 0) return { annotations: {}, volumes: [], netsetupMounts: [] };
  return {
    annotations: { [MULTUS_NETWORKS_ANNOTATION]: names.join(",") },
    volumes: [
      {
        name: PODINFO_VOLUME,
        downwardAPI: {
          items: [
            {
              path: NETWORK_STATUS_FILE,
              fieldRef: { fieldPath: `metadata.annotations['${MULTUS_NETWORK_STATUS_ANNOTATION}']` },
            },
          ],
        },
      },
    ],
    netsetupMounts: [{ name: PODINFO_VOLUME, mountPath: PODINFO_DIR, readOnly: true }],
  };
}
