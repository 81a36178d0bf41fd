import { GROUP, KIND, PLURAL } from "../api/virtual-machine.ts";
import { vmSpecStoredShape } from "../api/spec.ts";
import { vmStatusSchema } from "../api/status.ts";
import { crdOf, rootSchemaOf } from "./crd-frame.ts";
import { openApiOf, toStructural } from "./openapi.ts";

/** File name of the generated CRD, as controller-gen would name it. */
export const CRD_FILE = `${GROUP}_${PLURAL}.yaml`;

/**
 * Builds the VirtualMachine CustomResourceDefinition from the zod schema. Pure: the same schema always gives
 * the same object, which is how CI detects a stale checked-in CRD.
 */
export function buildVirtualMachineCrd(): Record<string, unknown> {
  return crdOf({
    kind: KIND,
    plural: PLURAL,
    singular: "virtualmachine",
    // vm/vms/vmi belong to KubeVirt; both can be installed side by side.
    shortNames: ["vvm"],
    scope: "Namespaced",
    version: {
      subresources: { status: {} },
      additionalPrinterColumns: printerColumns(),
      schema: { openAPIV3Schema: rootSchema() },
    },
  });
}

/** `kubectl get vvm` columns (fresh objects each call: callers may change what they are given). */
function printerColumns(): Record<string, unknown>[] {
  return [
    { name: "Status", type: "string", jsonPath: ".status.printableStatus" },
    // Ready is health as GitOps tools read it (the VM is as its spec asks: running and ready, stopped
    // or paused as asked); Guest is whether the guest itself runs and passes its readiness.
    {
      name: "Ready",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: "The VM is as its spec asks (the Ready condition).",
    },
    {
      name: "Guest",
      type: "boolean",
      jsonPath: ".status.ready",
      description: "The guest runs and passes its readiness (the GuestReady condition).",
    },
    { name: "Node", type: "string", jsonPath: ".status.nodeName" },
    { name: "IP", type: "string", jsonPath: ".status.ipAddress" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    { name: "Strategy", type: "string", jsonPath: ".spec.runStrategy", priority: 1 },
    { name: "Pod", type: "string", jsonPath: ".status.launcherPod", priority: 1 },
  ];
}

/** The resource's structural schema: spec and status from zod, metadata's name a DNS-1123 label. */
function rootSchema(): Record<string, unknown> {
  const spec = toStructural(openApiOf(vmSpecStoredShape), "spec");
  const status = toStructural(openApiOf(vmStatusSchema), "status");
  // A VM's name names its launcher pod, its host name and its labels: a DNS-1123 label.
  return rootSchemaOf({
    description: "A virtual machine run by Vireo in a launcher pod.",
    nameMaxLength: 63,
    spec: { ...spec, description: "Desired state of the virtual machine." },
    status,
  });
}
