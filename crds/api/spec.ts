import { z } from "zod";
import { cpuSchema, firmwareSchema, machineSchema, memorySchema } from "./compute.ts";
import { devicesSchema, guestProbeSchema } from "./devices.ts";
import { cel, listMap } from "./k8s-meta.ts";
import { interfaceSchema, networkSchema } from "./network.ts";
import { schedulingFields } from "./scheduling.ts";
import { diskSchema, volumeSchema } from "./storage.ts";
import { checkSpecRules } from "./spec-rules.ts";

/**
 * KubeVirt's run strategies. Default `Always`: a VM you apply is a VM you want running, and a crashed one
 * comes back — the same reading as a Deployment's pod.
 */
export const RUN_STRATEGIES = ["Always", "RerunOnFailure", "Once", "Manual", "Halted"] as const;

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
  })
  .strict()
  .meta(
    cel(
      {
        rule: "self.disks.all(d, self.volumes.exists(v, v.name == d.name))",
        message: "every disk needs a volume of the same name",
        fieldPath: ".disks",
      },
      {
        rule: "self.volumes.all(v, self.disks.exists(d, d.name == v.name))",
        message: "every volume must be used by a disk of the same name",
        fieldPath: ".volumes",
      },
      {
        rule: "self.interfaces.all(i, self.networks.exists(n, n.name == i.name))",
        message: "every interface needs a network of the same name",
        fieldPath: ".interfaces",
      },
      {
        rule: "self.networks.filter(n, has(n.pod)).size() <= 1",
        message: "at most one network may be the pod network",
        fieldPath: ".networks",
      },
      {
        rule: "self.machine.type != 'microvm' || has(self.firmware.kernelBoot)",
        message: "machine type microvm boots only with firmware.kernelBoot",
        fieldPath: ".machine.type",
      },
    ),
  );

/** Spec with every cross-field rule applied; the one entry point for validated specs. */
export const vmSpecSchema = vmSpecShape.superRefine(checkSpecRules);

/** A validated VirtualMachine spec with defaults applied. */
export type VmSpec = z.output<typeof vmSpecShape>;
/** A VirtualMachine spec as a user may write it. */
export type VmSpecInput = z.input<typeof vmSpecShape>;
