import type { z } from "zod";
import { GROUP, VERSION } from "../api/virtual-machine.ts";
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
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${k.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "vireo", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.kind.toLowerCase(),
        shortNames: k.shortNames,
        categories: ["vireo"],
      },
      scope: k.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
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
      ],
    },
  };
}

/** The instancetype and preference CRDs (namespaced and cluster kinds), keyed by file name. Pure. */
export function buildInstancetypeCrds(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(KINDS.map((k) => [crdFileOf(k.plural), buildCrd(k)]));
}
