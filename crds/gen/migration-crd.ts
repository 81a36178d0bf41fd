import { GROUP } from "../contract/metadata.ts";
import {
  MIGRATION_KIND,
  MIGRATION_PLURAL,
  migrationSpecSchema,
  migrationStatusSchema,
} from "../api/migration.ts";
import { crdOf, rootSchemaOf } from "./crd-frame.ts";
import { openApiOf, toStructural } from "./openapi.ts";

/** File name of the generated VirtualMachineMigration CRD, as controller-gen would name it. */
export const MIGRATION_CRD_FILE = `${GROUP}_${MIGRATION_PLURAL}.yaml`;

/** Builds the VirtualMachineMigration CustomResourceDefinition from the zod schema. Pure. */
export function buildMigrationCrd(): Record<string, unknown> {
  return crdOf({
    kind: MIGRATION_KIND,
    plural: MIGRATION_PLURAL,
    singular: "virtualmachinemigration",
    // vmim belongs to KubeVirt's VirtualMachineInstanceMigration; ours carries the v prefix.
    shortNames: ["vvmim", "vmigration"],
    scope: "Namespaced",
    version: {
      subresources: { status: {} },
      additionalPrinterColumns: [
        { name: "VM", type: "string", jsonPath: ".spec.vmName" },
        { name: "Phase", type: "string", jsonPath: ".status.phase" },
        { name: "Source", type: "string", jsonPath: ".status.source.node" },
        { name: "Target", type: "string", jsonPath: ".status.target.node" },
        {
          name: "Downtime-ms",
          type: "integer",
          jsonPath: ".status.progress.downtimeMilliseconds",
          priority: 1,
        },
        { name: "Reason", type: "string", jsonPath: ".status.reason", priority: 1 },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
      schema: {
        openAPIV3Schema: rootSchemaOf({
          description: "A live migration of a running VirtualMachine to another launcher pod (and node).",
          nameMaxLength: 63,
          spec: {
            ...toStructural(openApiOf(migrationSpecSchema), "spec"),
            description: "Which VM, where to, how; only cancel may change after creation.",
          },
          status: toStructural(openApiOf(migrationStatusSchema), "status"),
        }),
      },
    },
  });
}
