import { z } from "zod";
import { preserveUnknown } from "./k8s-meta.ts";

/** A Kubernetes toleration, passed through to the launcher pod. */
export const tolerationSchema = z
  .object({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.int().optional(),
  })
  .strict();

/** Scheduling fields copied onto the launcher pod unchanged. */
export const schedulingFields = {
  nodeSelector: z.record(z.string(), z.string()).optional().describe("Passed to the launcher pod."),
  affinity: z
    .record(z.string(), z.unknown())
    .optional()
    .meta(preserveUnknown)
    .describe("A Kubernetes Affinity, passed to the launcher pod."),
  tolerations: z.array(tolerationSchema).optional().describe("Passed to the launcher pod."),
  priorityClassName: z.string().optional().describe("Passed to the launcher pod."),
};
