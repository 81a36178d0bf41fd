import { GROUP } from "../contract/metadata.ts";
import {
  DATAVOLUME_KIND,
  DATAVOLUME_PLURAL,
  dataVolumeSpecSchema,
  dataVolumeStatusSchema,
} from "../api/datavolume.ts";
import { crdOf, rootSchemaOf } from "./crd-frame.ts";
import { openApiOf, toStructural } from "./openapi.ts";

/** File name of the generated DataVolume CRD, as controller-gen would name it. */
export const DATAVOLUME_CRD_FILE = `${GROUP}_${DATAVOLUME_PLURAL}.yaml`;

/** Builds the DataVolume CustomResourceDefinition from the zod schema. Pure. */
export function buildDataVolumeCrd(): Record<string, unknown> {
  const spec = toStructural(openApiOf(dataVolumeSpecSchema), "spec");
  const status = toStructural(openApiOf(dataVolumeStatusSchema), "status");
  return crdOf({
    kind: DATAVOLUME_KIND,
    plural: DATAVOLUME_PLURAL,
    singular: "datavolume",
    // dv/dvs belong to KubeVirt CDI; both can be installed side by side.
    shortNames: ["vdv"],
    scope: "Namespaced",
    version: {
      subresources: { status: {} },
      additionalPrinterColumns: [
        { name: "Phase", type: "string", jsonPath: ".status.phase" },
        { name: "Progress", type: "string", jsonPath: ".status.progress" },
        { name: "Restarts", type: "integer", jsonPath: ".status.restartCount", priority: 1 },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
      schema: {
        openAPIV3Schema: rootSchemaOf({
          description: "A PersistentVolumeClaim and how its disk is filled (import, clone, upload, blank).",
          nameMaxLength: 63,
          spec: {
            ...spec,
            description: "Desired disk: its source and its claim.",
            // CDI's DataVolume spec is immutable once created; so is ours (a new source means a new disk).
            "x-kubernetes-validations": [
              ...((spec as { "x-kubernetes-validations"?: unknown[] })["x-kubernetes-validations"] ?? []),
              { rule: "self == oldSelf", message: "a DataVolume's spec is immutable" },
            ],
          },
          status,
        }),
      },
    },
  });
}
