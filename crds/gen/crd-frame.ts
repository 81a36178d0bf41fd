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
