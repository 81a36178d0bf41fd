/**
 * Manifest builders for programs that make VMs (cdk8s, Pulumi, scripts): typed input in, a validated
 * VirtualMachine with defaults applied out, or an error that names every bad field.
 */
import { API_VERSION, KIND, type VirtualMachine } from "../../crds/api/virtual-machine.ts";
import type { VmSpecInput } from "../../crds/api/spec.ts";
import { parseVirtualMachine } from "../../crds/api/validate.ts";

/** Metadata a builder accepts: a name, and optionally a namespace, labels and annotations. */
export interface VmMetadataInput {
  /** The VM's name (a DNS-1123 label). */
  name: string;
  /** Its namespace; left out, the manifest applies to the namespace of whoever applies it. */
  namespace?: string;
  /** Labels. */
  labels?: Record<string, string>;
  /** Annotations (e.g. vireo.dev/restartedAt). */
  annotations?: Record<string, string>;
}

/**
 * A VirtualMachine manifest from metadata and a spec, validated like the API server and `vireo validate`
 * do, with every default filled in (runStrategy Always, one virtio NIC on the pod network, ...).
 * Throws InvalidVirtualMachineError, whose `problems` carry a path (e.g. `spec.disks[0].name`) and a message.
 */
export function virtualMachine(metadata: VmMetadataInput, spec: VmSpecInput): VirtualMachine {
  return parseVirtualMachine({ apiVersion: API_VERSION, kind: KIND, metadata, spec });
}

/** The defaults the API applies to a spec that sets only the required fields (memory.guest). */
export function specDefaults(guestMemory = "1Gi"): VirtualMachine["spec"] {
  return virtualMachine({ name: "defaults" }, { memory: { guest: guestMemory } }).spec;
}
