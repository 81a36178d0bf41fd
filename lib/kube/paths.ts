/** REST paths of Kubernetes resources: core (`/api/v1`) or a group's (`/apis/<group>/<version>`). */

/** A resource type: its API group ("" or absent for core), version and plural. */
export interface ResourceType {
  group?: string;
  version: string;
  plural: string;
}

const enc = encodeURIComponent;

/** The path of a collection (cluster-wide, or in `namespace`) or, with `name`, of one object. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = namespace !== undefined ? `/namespaces/${enc(namespace)}` : "";
  return `${base}${ns}/${type.plural}${name !== undefined ? `/${enc(name)}` : ""}`;
}
