import { POOL_KIND, POOL_PLURAL, poolSpecSchema, poolStatusSchema } from "../api/pool.ts";
import { crdOf, rootSchemaOf } from "./crd-frame.ts";
import { openApiOf, toStructural } from "./openapi.ts";

/** The VirtualMachinePool CRD, with status and scale subresources. Pure. */
export function buildPoolCrd(): Record<string, unknown> {
  const spec = toStructural(openApiOf(poolSpecSchema), "spec");
  const status = toStructural(openApiOf(poolStatusSchema), "status");
  return crdOf({
    kind: POOL_KIND,
    plural: POOL_PLURAL,
    singular: "virtualmachinepool",
    // vmpool belongs to KubeVirt.
    shortNames: ["vvmpool"],
    scope: "Namespaced",
    version: {
      subresources: {
        status: {},
        scale: {
          specReplicasPath: ".spec.replicas",
          statusReplicasPath: ".status.replicas",
          labelSelectorPath: ".status.labelSelector",
        },
      },
      additionalPrinterColumns: [
        { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
        { name: "Current", type: "integer", jsonPath: ".status.replicas" },
        { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
      schema: {
        openAPIV3Schema: rootSchemaOf({
          description: "Identical VirtualMachines from one template.",
          nameMaxLength: 52,
          spec: { ...spec, description: "Desired replicas and their template." },
          status,
        }),
      },
    },
  });
}
