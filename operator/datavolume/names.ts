/** Names of the objects a DataVolume owns. Deterministic, so the API server refuses a second one (409). */
import { DATAVOLUME_API_VERSION, DATAVOLUME_KIND } from "../../crds/api/datavolume.ts";

/** Label on a DataVolume's claim and importer pod naming the DataVolume; the informers select on it. */
export const LABEL_DATAVOLUME = "vireo.dev/datavolume";
/** Claim annotation: the disk format written into it (`raw` or `qcow2`), for a reader that sees only the claim. */
export const ANNOTATION_DISK_FORMAT = "vireo.dev/disk-format";
/** `apiVersion` and `kind` of a DataVolume, for owner references and events. */
export const DV_TYPE = { apiVersion: DATAVOLUME_API_VERSION, kind: DATAVOLUME_KIND } as const;
/** Container name of the importer. */
export const IMPORTER_CONTAINER = "importer";

/** The claim has the DataVolume's own name, as in CDI: a VM's `persistentVolumeClaim` can name it too. */
export function dataVolumeClaimName(dvName: string): string {
  return dvName;
}

/** The importer pod of a DataVolume (DV names are ≤ 63, so this stays a valid pod name). */
export function importerPodName(dvName: string): string {
  return `vireo-importer-${dvName}`;
}
