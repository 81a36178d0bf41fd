/**
 * Instancetypes: a VM's size (vCPUs, memory, hugepages) as a named, reusable object, as KubeVirt's
 * `instancetype.kubevirt.io` resources. Field names follow KubeVirt's v1beta1 where Vireo has the feature.
 */
import { z } from "zod";
import { byteQuantity, MAX_GUEST_MEMORY_BYTES, MIN_GUEST_MEMORY_BYTES } from "./compute.ts";
import { objectName } from "./names.ts";

/** Namespaced instancetype kind. */
export const INSTANCETYPE_KIND = "VirtualMachineInstancetype";
/** Cluster-wide instancetype kind (the default a VM's `spec.instancetype.kind` means). */
export const CLUSTER_INSTANCETYPE_KIND = "VirtualMachineClusterInstancetype";
/** Both instancetype kinds. */
export const INSTANCETYPE_KINDS = [INSTANCETYPE_KIND, CLUSTER_INSTANCETYPE_KIND] as const;
/** Plural of the namespaced kind. */
export const INSTANCETYPE_PLURAL = "virtualmachineinstancetypes";
/** Plural of the cluster kind. */
export const CLUSTER_INSTANCETYPE_PLURAL = "virtualmachineclusterinstancetypes";

/** What an instancetype says about CPUs. */
export const instancetypeCpuSchema = z
  .object({
    guest: z
      .int()
      .min(1, "cpu.guest must be at least 1")
      .max(512, "cpu.guest must be at most 512")
      .describe("vCPUs the guest sees; laid out as sockets unless the preference says otherwise."),
    model: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be host-passthrough, host-model or a QEMU CPU model")
      .optional()
      .describe("CPU model; the VM's own cpu.model applies when omitted."),
    dedicatedCPUPlacement: z
      .boolean()
      .optional()
      .describe(
        "Pin each vCPU to a dedicated host CPU (the VM's cpu.dedicatedCpuPlacement; Guaranteed QoS pod).",
      ),
    isolateEmulatorThread: z
      .boolean()
      .optional()
      .describe("Give QEMU's emulator threads a CPU of their own (needs dedicatedCPUPlacement)."),
    numa: z
      .object({ guestMappingPassthrough: z.object({}).strict() })
      .strict()
      .optional()
      .describe(
        "Guest NUMA nodes mirroring the host nodes of the pinned CPUs (needs dedicatedCPUPlacement).",
      ),
  })
  .strict();

/** What an instancetype says about memory. */
export const instancetypeMemorySchema = z
  .object({
    guest: byteQuantity(MIN_GUEST_MEMORY_BYTES, MAX_GUEST_MEMORY_BYTES, "guest memory").describe(
      "Memory the guest sees (e.g. 4Gi).",
    ),
    hugepages: z
      .object({ pageSize: z.enum(["2Mi", "1Gi"]).describe("Hugepage size backing guest memory.") })
      .strict()
      .optional()
      .describe("Back guest memory with hugepages of this size."),
  })
  .strict();

/** Spec of a VirtualMachine(Cluster)Instancetype. The VM may not set what an instancetype owns. */
export const instancetypeSpecSchema = z
  .object({
    cpu: instancetypeCpuSchema.describe(
      "vCPUs (owned by the instancetype: the VM must leave spec.cpu topology alone).",
    ),
    memory: instancetypeMemorySchema.describe(
      "Guest memory (owned by the instancetype: the VM must not set spec.memory).",
    ),
  })
  .strict();

/** A validated instancetype spec. */
export type InstancetypeSpec = z.output<typeof instancetypeSpecSchema>;

/** How a VM names its instancetype, and the revision it is pinned to. */
export const instancetypeMatcherSchema = z
  .object({
    kind: z
      .enum(INSTANCETYPE_KINDS)
      .default(CLUSTER_INSTANCETYPE_KIND)
      .describe(
        "VirtualMachineClusterInstancetype (default) or VirtualMachineInstancetype (in the VM's namespace).",
      ),
    name: objectName().describe("Name of the instancetype."),
    revisionName: objectName()
      .optional()
      .describe(
        "ControllerRevision holding the instancetype as first used; written by the operator. Clear it to move " +
          "the VM to the instancetype's current version (the running VM then reports RestartRequired).",
      ),
  })
  .strict();

/** A VM's reference to its instancetype. */
export type InstancetypeMatcher = z.output<typeof instancetypeMatcherSchema>;
