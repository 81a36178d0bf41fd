import type { z } from "zod";
import { GROUP } from "../api/virtual-machine.ts";
import {
  CLUSTER_INSTANCETYPE_KIND,
  CLUSTER_INSTANCETYPE_PLURAL,
  INSTANCETYPE_KIND,
  INSTANCETYPE_PLURAL,
  instancetypeSpecSchema,
} from "../api/instancetype.ts";
import {
  CLUSTER_PREFERENCE_KIND,
  CLUSTER_PREFERENCE_PLURAL,
  PREFERENCE_KIND,
  PREFERENCE_PLURAL,
  preferenceSpecSchema,
} from "../api/preference.ts";
import { crdOf } from "./crd-frame.ts";
import { openApiOf, toStructural } from "./openapi.ts";

interface KindInfo {
  kind: string;
  plural: string;
  scope: "Namespaced" | "Cluster";
  /** KubeVirt's short names (vmi*, vmcf*) are taken when both are installed, so ours carry a `v` prefix. */
  shortNames: string[];
  spec: z.ZodType;
  description: string;
}

const KINDS: KindInfo[] = [
  {
    kind: INSTANCETYPE_KIND,
    plural: INSTANCETYPE_PLURAL,
    scope: "Namespaced",
    shortNames: ["vvmit"],
    spec: instancetypeSpecSchema,
    description: "A VM size (vCPUs, memory) for VMs of its namespace.",
  },
  {
    kind: CLUSTER_INSTANCETYPE_KIND,
    plural: CLUSTER_INSTANCETYPE_PLURAL,
    scope: "Cluster",
    shortNames: ["vvmcit"],
    spec: instancetypeSpecSchema,
    description: "A VM size (vCPUs, memory) for VMs of every namespace.",
  },
  {
    kind: PREFERENCE_KIND,
    plural: PREFERENCE_PLURAL,
    scope: "Namespaced",
    shortNames: ["vvmpref"],
    spec: preferenceSpecSchema,
    description: "Guest-OS defaults for VMs of its namespace; fills only what a VM leaves unset.",
  },
  {
    kind: CLUSTER_PREFERENCE_KIND,
    plural: CLUSTER_PREFERENCE_PLURAL,
    scope: "Cluster",
    shortNames: ["vvmcpref"],
    spec: preferenceSpecSchema,
    description: "Guest-OS defaults for VMs of every namespace; fills only what a VM leaves unset.",
  },
];

/** File name of a generated CRD, as controller-gen would name it. */
export const crdFileOf = (plural: string) => `${GROUP}_${plural}.yaml`;

function buildCrd(k: KindInfo): Record<string, unknown> {
  const spec = toStructural(openApiOf(k.spec), "spec");
  return crdOf({
    kind: k.kind,
    plural: k.plural,
    singular: k.kind.toLowerCase(),
    shortNames: k.shortNames,
    scope: k.scope,
    version: {
      additionalPrinterColumns: [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }],
      schema: {
        openAPIV3Schema: {
          type: "object",
          description: k.description,
          required: ["spec"],
          properties: {
            apiVersion: { type: "string" },
            kind: { type: "string" },
            metadata: { type: "object" },
            spec: { ...spec, description: k.description },
          },
        },
      },
    },
  });
}

/** The instancetype and preference CRDs (namespaced and cluster kinds), keyed by file name. Pure. */
export function buildInstancetypeCrds(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(KINDS.map((k) => [crdFileOf(k.plural), buildCrd(k)]));
}
