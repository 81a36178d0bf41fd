/**
 * VirtualMachinePool: identical VMs from one template, as KubeVirt's pool (pool.kubevirt.io): ordered names
 * `<pool>-<index>`, a scale subresource (kubectl scale, HorizontalPodAutoscaler), per-replica DataVolumes
 * from the template's dataVolumeTemplates, and a chosen scale-in order.
 */
import { z } from "zod";
import { conditionSchema } from "./status.ts";
import { listMap } from "./k8s-meta.ts";
import { localName } from "./names.ts";
import { vmSpecStoredShape } from "./spec.ts";

/** Kind. */
export const POOL_KIND = "VirtualMachinePool";
/** Plural resource name. */
export const POOL_PLURAL = "virtualmachinepools";
/** Label on each replica naming its pool (the scale subresource's selector). */
export const LABEL_POOL = "vireo.dev/pool";
/** Label on each replica holding its index. */
export const LABEL_POOL_INDEX = "vireo.dev/pool-index";
/** Annotation on each replica: hash of the template it was made or last updated from. */
export const ANNOTATION_POOL_TEMPLATE = "vireo.dev/pool-template-hash";
/** Most replicas a pool may ask for. */
export const MAX_POOL_REPLICAS = 1000;

/** Which replicas go first when the pool shrinks (after any listed in `scaleIn.first`). */
export const SCALE_IN_ORDERS = ["NewestFirst", "HighestIndexFirst"] as const;

const stringMap = z.record(z.string(), z.string());

/** Spec of a VirtualMachinePool. */
export const poolSpecSchema = z
  .object({
    replicas: z
      .int()
      .min(0)
      .max(MAX_POOL_REPLICAS, `replicas must be at most ${MAX_POOL_REPLICAS}`)
      .default(1)
      .describe("How many VMs (default 1); the scale subresource sets it."),
    virtualMachineTemplate: z
      .object({
        metadata: z
          .object({ labels: stringMap.optional(), annotations: stringMap.optional() })
          .strict()
          .prefault({})
          .describe("Labels and annotations every replica gets."),
        spec: vmSpecStoredShape.describe(
          "Spec of every replica. dataVolumeTemplates are made per replica: each name gets the replica's " +
            "index appended (root → root-0), and dataVolume volumes naming them follow.",
        ),
      })
      .strict()
      .describe("The VM every replica is made from; a change is applied to every replica's spec."),
    scaleIn: z
      .object({
        first: z
          .array(localName())
          .max(MAX_POOL_REPLICAS)
          .optional()
          .describe("Replica names to remove first when the pool shrinks, in this order."),
        order: z
          .enum(SCALE_IN_ORDERS)
          .default("NewestFirst")
          .describe(
            "Then: NewestFirst (default: latest created first) or HighestIndexFirst (as a StatefulSet).",
          ),
      })
      .strict()
      .prefault({})
      .describe("Which replicas go when the pool shrinks."),
  })
  .strict();

/** Status of a VirtualMachinePool. */
export const poolStatusSchema = z
  .object({
    replicas: z.int().min(0).optional().describe("Replicas that exist (not being deleted)."),
    readyReplicas: z.int().min(0).optional().describe("Replicas whose Ready condition is True."),
    updatedReplicas: z
      .int()
      .min(0)
      .optional()
      .describe("Replicas made or updated from the current template."),
    labelSelector: z
      .string()
      .optional()
      .describe("Selects the replicas (for the scale subresource and the HPA)."),
    observedGeneration: z.int().min(0).optional(),
    conditions: z.array(conditionSchema).optional().meta(listMap("type")),
  })
  .strict();

/** A VirtualMachinePool object. */
export const poolSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.literal(POOL_KIND),
    metadata: z
      .object({
        name: z.string().max(52, "pool names must be at most 52 characters (replica names add -<index>)"),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        generation: z.int().optional(),
      })
      .loose(),
    spec: poolSpecSchema,
    status: poolStatusSchema.optional(),
  })
  .strict();

/** A validated pool. */
export type VirtualMachinePool = z.output<typeof poolSchema>;
/** Pool status. */
export type PoolStatus = z.output<typeof poolStatusSchema>;
