type Json = Record<string, unknown>;

/**
 * Checks the rules Kubernetes applies to a structural schema (the subset that a generator can break):
 * every node has a type (or preserves unknown fields), no unions or refs, no `additionalProperties` beside
 * `properties`, and every list-map key is required or defaulted in the item schema. Returns problems as
 * `path: message`; empty when structural.
 */
export function structuralProblems(schema: Json, path = "$"): string[] {
  const out: string[] = [];
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (!schema.type && !preserve && !schema["x-kubernetes-int-or-string"]) out.push(`${path}: missing type`);
  for (const k of ["anyOf", "oneOf", "allOf", "not", "$ref", "nullable"])
    if (k in schema) out.push(`${path}: ${k} is not allowed here`);
  if (schema.properties && schema.additionalProperties)
    out.push(`${path}: properties and additionalProperties together`);
  const props = (schema.properties ?? {}) as Record<string, Json>;
  for (const [k, v] of Object.entries(props)) out.push(...structuralProblems(v, `${path}.${k}`));
  if (schema.additionalProperties && typeof schema.additionalProperties === "object")
    out.push(...structuralProblems(schema.additionalProperties as Json, `${path}.*`));
  if (schema.items) {
    const items = schema.items as Json;
    out.push(...structuralProblems(items, `${path}[]`));
    if (schema["x-kubernetes-list-type"] === "map") {
      const required = new Set((items.required as string[] | undefined) ?? []);
      const itemProps = (items.properties ?? {}) as Record<string, Json>;
      for (const key of (schema["x-kubernetes-list-map-keys"] as string[] | undefined) ?? []) {
        if (!itemProps[key]) out.push(`${path}: list-map key ${key} is not a property of the items`);
        else if (!required.has(key) && itemProps[key]?.default === undefined)
          out.push(`${path}: list-map key ${key} must be required or have a default`);
      }
    }
  }
  return out;
}
