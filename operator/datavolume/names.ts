/** Names of the objects a DataVolume owns: the shared ones (crds/contract/datavolume.ts) and the owner type. */
import { DATAVOLUME_API_VERSION, DATAVOLUME_KIND } from "../../crds/api/datavolume.ts";

export {
  ANNOTATION_DISK_FORMAT,
  dataVolumeClaimName,
  IMPORTER_CONTAINER,
  importerPodName,
  LABEL_DATAVOLUME,
  UPLOAD_PORT,
} from "../../crds/contract/datavolume.ts";

/** `apiVersion` and `kind` of a DataVolume, for owner references and events. */
export const DV_TYPE = { apiVersion: DATAVOLUME_API_VERSION, kind: DATAVOLUME_KIND } as const;
