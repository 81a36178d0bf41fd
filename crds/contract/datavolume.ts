/**
 * Names the operator, the importer and the CLI share about a DataVolume's objects: labels, annotations, the
 * importer pod's name, container and ports. Deterministic names, so the API server refuses a second one (409).
 */

/** Label on a DataVolume's claim and importer pod naming the DataVolume; the informers select on it. */
export const LABEL_DATAVOLUME = "vireo.dev/datavolume";
/** Claim annotation: the disk format written into it (`raw` or `qcow2`), for a reader that sees only the claim. */
export const ANNOTATION_DISK_FORMAT = "vireo.dev/disk-format";
/** Container name of the importer. */
export const IMPORTER_CONTAINER = "importer";
/** Port of the importer's upload server (`PUT /upload`), reached through the API server's port-forward. */
export const UPLOAD_PORT = 8443;

/** The claim has the DataVolume's own name, as in CDI: a VM's `persistentVolumeClaim` can name it too. */
export function dataVolumeClaimName(dvName: string): string {
  return dvName;
}

/** The importer pod of a DataVolume (DataVolume names are ≤ 63, so this stays a valid pod name). */
export function importerPodName(dvName: string): string {
  return `vireo-importer-${dvName}`;
}
