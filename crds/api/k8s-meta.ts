/** Metadata helpers that turn into Kubernetes OpenAPI markers when the CRD is generated. */

/** A CEL rule with a human message, checked by the API server at admission. */
export interface CelRule {
  rule: string;
  message: string;
  /** A CEL expression for the message, to name the offending element (`message` is the fallback). */
  messageExpression?: string;
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** Marks an object with CEL rules (`x-kubernetes-validations`). */
export function cel(...rules: CelRule[]): Record<string, unknown> {
  return { "x-kubernetes-validations": rules };
}

/** Marks an array as a list-map keyed by `keys`, so the API server enforces key uniqueness and SSA merges by key. */
export function listMap(...keys: string[]): Record<string, unknown> {
  return { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": keys };
}

/** Marks a free-form object (e.g. Kubernetes affinity) whose schema is Kubernetes' own, passed through untouched. */
export const preserveUnknown = { "x-kubernetes-preserve-unknown-fields": true } as const;

/** CEL: exactly one of the listed optional fields is set. */
export function exactlyOne(fields: string[]): string {
  return `[${fields.map((f) => `has(self.${f})`).join(", ")}].filter(x, x).size() == 1`;
}
