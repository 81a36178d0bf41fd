import { z } from "zod";
import { vmSpecSchema, vmSpecShape } from "./spec.ts";
import { vmStatusSchema } from "./status.ts";
import { API_VERSION, KIND } from "../contract/metadata.ts";

// The API's identity is part of the contract (crds/contract); the API's door shows it too.
export { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../contract/metadata.ts";

/** Object metadata as far as we read it; everything else passes through untouched. */
export const metadataSchema = z
  .object({
    name: z
      .string()
      .max(63, "VM names must be at most 63 characters (they name the launcher pod and its hostname)")
      .regex(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
        "must be a DNS-1123 label (no dots: it becomes the guest hostname)",
      )
      .optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    creationTimestamp: z.string().optional(),
  })
  .loose();

const objectFields = {
  apiVersion: z.literal(API_VERSION, { error: `apiVersion must be ${API_VERSION}` }),
  kind: z.literal(KIND, { error: `kind must be ${KIND}` }),
  metadata: metadataSchema,
  status: vmStatusSchema.optional(),
};

/** A VirtualMachine, fully validated (field and cross-field rules) with defaults applied. */
export const virtualMachineSchema = z.object({ ...objectFields, spec: vmSpecSchema }).strict();

/** The same object without cross-field rules: the CRD's schema source. */
export const virtualMachineShape = z.object({ ...objectFields, spec: vmSpecShape }).strict();

/** A validated VirtualMachine. */
export type VirtualMachine = z.output<typeof virtualMachineSchema>;
/** A VirtualMachine as written by a user. */
export type VirtualMachineInput = z.input<typeof virtualMachineSchema>;
