import { GROUP, VERSION } from "../contract/metadata.ts";

/** What tells one of our CRDs from another: names, scope, and the body of its one version. */
export interface CrdFrame {
  kind: string;
  plural: string;
  singular: string;
  /** KubeVirt's short names are taken when both are installed, so ours carry a `v` prefix. */
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  /** The version entry after name/served/storage: subresources, printer columns, schema. */
  version: Record<string, unknown>;
}

/** A vireo.dev CustomResourceDefinition with one served and stored version (category "vireo"). Pure. */
export function crdOf(f: CrdFrame): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${f.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "vireo", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: f.kind,
        listKind: `${f.kind}List`,
        plural: f.plural,
        singular: f.singular,
        shortNames: f.shortNames,
        categories: ["vireo"],
      },
      scope: f.scope,
      versions: [{ name: VERSION, served: true, storage: true, ...f.version }],
    },
  };
}

/**
 * A resource's root schema: apiVersion, kind, metadata whose name is a DNS-1123 label of at most
 * `nameMaxLength` (the name names pods and labels), the given spec, and the operator-written status.
 */
export function rootSchemaOf(r: {
  description: string;
  nameMaxLength: number;
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    type: "object",
    description: r.description,
    required: ["spec"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: {
        type: "object",
        properties: {
          name: { type: "string", maxLength: r.nameMaxLength, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
        },
      },
      spec: r.spec,
      status: { ...r.status, description: "Observed state, written by the operator." },
    },
  };
}
