import { z } from "zod";
import { cpuSchema, firmwareSchema, machineSchema, memorySchema } from "./compute.ts";
import { devicesSchema, guestProbeSchema } from "./devices.ts";
import { cel, listMap, type CelRule } from "./k8s-meta.ts";
import { celRulesOf } from "./rule.ts";
import { interfaceSchema, networkSchema } from "./network.ts";
import { schedulingFields } from "./scheduling.ts";
import { diskSchema, stateStorageSchema, volumeSchema } from "./storage.ts";
import { dataVolumeTemplateSchema } from "./datavolume.ts";
import { checkSpecRules, SPEC_RULES as SPEC_RULE_ENTRIES } from "./spec-rules.ts";
import { instancetypeMatcherSchema } from "./instancetype.ts";
import { preferenceMatcherSchema } from "./preference.ts";
import { clockSchema, featuresSchema } from "./guest-features.ts";
import { EVICTION_STRATEGIES } from "./migration.ts";

/**
 * KubeVirt's run strategies. Default `Always`: a VM you apply is a VM you want running, and a crashed one
 * comes back — the same reading as a Deployment's pod.
 */
export const RUN_STRATEGIES = ["Always", "RerunOnFailure", "Once", "Manual", "Halted"] as const;

/** The spec's cross-field rules as CEL (crds/api/spec-rules.ts holds each with its check). */
const SPEC_RULES: CelRule[] = celRulesOf(SPEC_RULE_ENTRIES);

/** Spec of a VirtualMachine before cross-field rules (also what the CRD's openAPIV3Schema is made from). */
export const vmSpecShape = z
  .object({
    runStrategy: z
      .enum(RUN_STRATEGIES)
      .default("Always")
      .describe("Always (default), RerunOnFailure, Once, Manual or Halted — as in KubeVirt."),
    cpu: cpuSchema.prefault({}).describe("vCPU topology and model."),
    memory: memorySchema.describe("Guest memory."),
    machine: machineSchema.prefault({}).describe("Machine type."),
    firmware: firmwareSchema.prefault({ bios: {} }).describe("How the VM boots (default: SeaBIOS)."),
    disks: z
      .array(diskSchema)
      .max(64, "at most 64 disks")
      .default([])
      .meta(listMap("name"))
      .describe("Guest disks."),
    volumes: z
      .array(volumeSchema)
      .max(64, "at most 64 volumes")
      .default([])
      .meta(listMap("name"))
      .describe("Volumes backing the disks."),
    interfaces: z
      .array(interfaceSchema)
      .max(16, "at most 16 interfaces")
      .default([{ name: "default", model: "virtio" }])
      .meta(listMap("name"))
      .describe("Guest NICs (default: one virtio NIC on the pod network)."),
    networks: z
      .array(networkSchema)
      .max(16, "at most 16 networks")
      .default([{ name: "default", pod: {} }])
      .meta(listMap("name"))
      .describe("Networks the NICs attach to (default: the pod network)."),
    devices: devicesSchema.prefault({}).describe("Optional devices."),
    features: featuresSchema.optional().describe("Guest platform features (Hyper-V enlightenments)."),
    clock: clockSchema
      .optional()
      .describe("The guest clock: RTC base and timers (default: UTC, QEMU's timers)."),
    dataVolumeTemplates: z
      .array(dataVolumeTemplateSchema)
      .max(64, "at most 64 dataVolumeTemplates")
      .optional()
      .describe(
        "DataVolumes the VM creates and owns (deleted with it), as KubeVirt's; volumes use them by name.",
      ),
    stateStorage: stateStorageSchema
      .optional()
      .describe("Where the per-VM state claim lives (used by firmware.uefi.persistent)."),
    evictionStrategy: z
      .enum(EVICTION_STRATEGIES)
      .optional()
      .describe(
        "On eviction (kubectl drain): LiveMigrate moves the running guest to another node, None stops it " +
          "(restarted per runStrategy). Default: the operator's cluster default (chart value).",
      ),
    terminationGracePeriodSeconds: z
      .int()
      .min(0)
      .max(86400)
      .default(180)
      .describe(
        "Time the guest gets to power off after the ACPI power button before it is stopped (default 180, as KubeVirt).",
      ),
    readinessProbe: guestProbeSchema
      .optional()
      .describe("Guest readiness probe, run by the kubelet against the guest."),
    livenessProbe: guestProbeSchema
      .optional()
      .describe("Guest liveness probe, run by the kubelet against the guest."),
    ...schedulingFields,
    instancetype: instancetypeMatcherSchema
      .optional()
      .describe(
        "An instancetype that sizes the VM (vCPUs, memory); the VM then leaves spec.cpu topology and spec.memory unset.",
      ),
    preference: preferenceMatcherSchema
      .optional()
      .describe("A preference whose guest-OS defaults fill what the VM leaves unset."),
  })
  .strict()
  .meta(cel(...SPEC_RULES));

/**
 * What an instancetype owns, as CEL on the spec as stored (defaults applied, so an unset cpu reads 1/1/1).
 * The operator's expansion checks the same and more (the instancetype's own fields) with field paths.
 */
const INSTANCETYPE_RULES: CelRule[] = [
  {
    rule: "has(self.memory) || has(self.instancetype)",
    message: "memory is required unless an instancetype gives it",
    fieldPath: ".memory",
    reason: "FieldValueRequired",
  },
  {
    rule: "!has(self.instancetype) || !has(self.memory)",
    message: "memory comes from the instancetype; remove spec.memory",
    fieldPath: ".memory",
    reason: "FieldValueForbidden",
  },
  {
    rule: "!has(self.instancetype) || (self.cpu.sockets == 1 && self.cpu.cores == 1 && self.cpu.threads == 1)",
    message: "the instancetype sets the vCPU count; leave spec.cpu sockets, cores and threads unset",
    fieldPath: ".cpu",
    reason: "FieldValueForbidden",
  },
];

/**
 * The spec as users write it and the API server stores it: memory may come from an instancetype instead. The
 * CRD is generated from this; the operator expands it (crds/api/instancetype-expand.ts) into a
 * {@link vmSpecShape} before anything else reads it.
 */
export const vmSpecStoredShape = vmSpecShape
  .extend({
    memory: memorySchema.optional().describe("Guest memory (required unless spec.instancetype gives it)."),
  })
  .meta(cel(...SPEC_RULES, ...INSTANCETYPE_RULES));

/** A VM spec as stored, before instancetype and preference expansion. */
export type VmSpecStored = z.output<typeof vmSpecStoredShape>;

/** Spec with every cross-field rule applied; the one entry point for validated specs. */
export const vmSpecSchema = vmSpecShape.superRefine(checkSpecRules);

/** A validated VirtualMachine spec with defaults applied. */
export type VmSpec = z.output<typeof vmSpecShape>;
/** A VirtualMachine spec as a user may write it. */
export type VmSpecInput = z.input<typeof vmSpecShape>;
