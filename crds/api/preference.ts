/**
 * Preferences: guest-OS defaults (firmware, machine, disk and NIC models, storage class, minimum size) as a
 * named object, as KubeVirt's VirtualMachine(Cluster)Preference. A preference only fills what the VM leaves
 * unset; it never overrides the VM.
 */
import { z } from "zod";
import { byteQuantity, MAX_GUEST_MEMORY_BYTES, MIN_GUEST_MEMORY_BYTES } from "./compute.ts";
import { objectName } from "./names.ts";
import { clockSchema, hypervSchema } from "./guest-features.ts";

/** Namespaced preference kind. */
export const PREFERENCE_KIND = "VirtualMachinePreference";
/** Cluster-wide preference kind (the default a VM's `spec.preference.kind` means). */
export const CLUSTER_PREFERENCE_KIND = "VirtualMachineClusterPreference";
/** Both preference kinds. */
export const PREFERENCE_KINDS = [PREFERENCE_KIND, CLUSTER_PREFERENCE_KIND] as const;
/** Plural of the namespaced kind. */
export const PREFERENCE_PLURAL = "virtualmachinepreferences";
/** Plural of the cluster kind. */
export const CLUSTER_PREFERENCE_PLURAL = "virtualmachineclusterpreferences";

/** How a vCPU count is laid out (KubeVirt's preferredCPUTopology values). `any` means sockets. */
export const CPU_TOPOLOGIES = ["sockets", "cores", "threads", "any"] as const;

/** Spec of a VirtualMachine(Cluster)Preference; every field is optional. */
export const preferenceSpecSchema = z
  .object({
    cpu: z
      .object({
        preferredCPUTopology: z
          .enum(CPU_TOPOLOGIES)
          .optional()
          .describe("Lay the instancetype's vCPUs out as sockets (default), cores or threads."),
      })
      .strict()
      .optional(),
    devices: z
      .object({
        preferredDiskBus: z
          .enum(["virtio", "scsi", "sata"])
          .optional()
          .describe("Bus for disks the VM leaves at the default (virtio)."),
        preferredInterfaceModel: z
          .enum(["virtio", "e1000e", "rtl8139"])
          .optional()
          .describe("Model for NICs the VM leaves at the default (virtio)."),
        preferredTPM: z
          .object({ persistent: z.boolean().optional() })
          .strict()
          .optional()
          .describe("A virtual TPM (devices.tpm) for a VM that sets none."),
      })
      .strict()
      .optional(),
    firmware: z
      .object({
        preferredUseBios: z
          .boolean()
          .optional()
          .describe("SeaBIOS (what the VM gets anyway when firmware is left unset)."),
        preferredUseEfi: z.boolean().optional().describe("UEFI (OVMF) when the VM leaves firmware unset."),
        preferredUseSecureBoot: z
          .boolean()
          .optional()
          .describe("With preferredUseEfi: Secure Boot with enrolled keys."),
      })
      .strict()
      .optional(),
    features: z
      .object({
        preferredHyperv: hypervSchema.optional().describe("Hyper-V enlightenments when the VM sets none."),
      })
      .strict()
      .optional(),
    clock: z
      .object({
        preferredClock: clockSchema.optional().describe("The clock (base and timers) when the VM sets none."),
      })
      .strict()
      .optional(),
    machine: z
      .object({
        preferredMachineType: z
          .enum(["q35", "microvm"])
          .optional()
          .describe("Machine type when the VM leaves it unset."),
      })
      .strict()
      .optional(),
    volumes: z
      .object({
        preferredStorageClassName: objectName()
          .optional()
          .describe("StorageClass of the VM's state claim when the VM names none."),
      })
      .strict()
      .optional(),
    requirements: z
      .object({
        cpu: z
          .object({ guest: z.int().min(1).max(512).describe("Fewest vCPUs the guest OS needs.") })
          .strict()
          .optional(),
        memory: z
          .object({
            guest: byteQuantity(MIN_GUEST_MEMORY_BYTES, MAX_GUEST_MEMORY_BYTES, "required memory").describe(
              "Least memory the guest OS needs.",
            ),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional()
      .describe("Minimum size for this guest OS; a smaller VM or instancetype is refused."),
  })
  .strict();

/** A validated preference spec. */
export type PreferenceSpec = z.output<typeof preferenceSpecSchema>;

/** How a VM names its preference, and the revision it is pinned to. */
export const preferenceMatcherSchema = z
  .object({
    kind: z
      .enum(PREFERENCE_KINDS)
      .default(CLUSTER_PREFERENCE_KIND)
      .describe(
        "VirtualMachineClusterPreference (default) or VirtualMachinePreference (in the VM's namespace).",
      ),
    name: objectName().describe("Name of the preference."),
    revisionName: objectName()
      .optional()
      .describe("ControllerRevision holding the preference as first used; written by the operator."),
  })
  .strict();

/** A VM's reference to its preference. */
export type PreferenceMatcher = z.output<typeof preferenceMatcherSchema>;
