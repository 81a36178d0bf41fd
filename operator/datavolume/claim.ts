/** `buildDataVolumeClaim`: the PersistentVolumeClaim of a DataVolume, as a pure function of it. */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { DataVolume } from "../../crds/api/datavolume.ts";
import { COMPONENT } from "../../crds/contract/metadata.ts";
import { ANNOTATION_DISK_FORMAT, dataVolumeClaimName, DV_TYPE, LABEL_DATAVOLUME } from "./names.ts";

/** Labels on everything a DataVolume owns. */
export function dataVolumeLabels(dvName: string): Record<string, string> {
  return {
    [LABEL_DATAVOLUME]: dvName,
    "app.kubernetes.io/name": "vireo-datavolume",
    "app.kubernetes.io/instance": dvName,
    "app.kubernetes.io/part-of": "vireo",
    "app.kubernetes.io/managed-by": COMPONENT,
  };
}

/** The owner reference a DataVolume puts on what it creates. */
export function dvOwner(dv: DataVolume) {
  return {
    ...DV_TYPE,
    name: dv.metadata.name ?? "",
    uid: dv.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The claim: the DataVolume's name, size, modes and class; no `storageClassName` at all when unset, so the
 * DefaultStorageClass admission plugin fills it in. Controlled by the DataVolume (deleted with it where the
 * garbage collector runs).
 */
export function buildDataVolumeClaim(dv: DataVolume): V1PersistentVolumeClaim {
  const name = dv.metadata.name ?? "";
  const s = dv.spec.storage;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: dataVolumeClaimName(name),
      namespace: dv.metadata.namespace ?? "default",
      labels: dataVolumeLabels(name),
      annotations: { [ANNOTATION_DISK_FORMAT]: dv.spec.format },
      ownerReferences: [dvOwner(dv)],
    },
    spec: {
      accessModes: [...s.accessModes],
      volumeMode: s.volumeMode,
      resources: { requests: { storage: s.size } },
      ...(s.storageClassName ? { storageClassName: s.storageClassName } : {}),
    },
  };
}
