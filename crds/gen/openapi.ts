import { z } from "zod";

type Json = Record<string, unknown>;

/** Keys Kubernetes structural schemas reject or that carry no meaning for the API server. */
const DROP = new Set(["$schema", "id", "$id", "$defs", "definitions"]);
const SAFE_INT = Number.MAX_SAFE_INTEGER;

/**
 * Rewrites a JSON Schema from zod into a Kubernetes *structural* schema:
 * - `additionalProperties: false` goes (the API server prunes unknown fields instead, and structural
 *   schemas forbid it next to `properties`);
 * - zod's safe-integer bounds go (they are implied and only add noise);
 * - free-form objects keep `x-kubernetes-preserve-unknown-fields` and lose `additionalProperties`;
 * - `nullable`/`anyOf` are refused: the API is designed without unions, so one here is a schema bug.
 */
export function toStructural(schema: unknown, path = "$"): Json {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema))
    throw new Error(`${path}: expected a schema object`);
  const out: Json = {};
  for (const [key, value] of Object.entries(schema as Json)) {
    if (DROP.has(key)) continue;
    if (key === "anyOf" || key === "oneOf" || key === "allOf" || key === "$ref")
      throw new Error(
        `${path}: ${key} is not allowed in a structural schema; model it as optional fields with a CEL rule`,
      );
    if (key === "additionalProperties") {
      if (value === false || (schema as Json)["x-kubernetes-preserve-unknown-fields"]) continue;
      if (typeof value === "object" && value !== null && Object.keys(value).length === 0) continue;
      out[key] = toStructural(value, `${path}.additionalProperties`);
      continue;
    }
    if ((key === "maximum" && value === SAFE_INT) || (key === "minimum" && value === -SAFE_INT)) continue;
    if (key === "properties") {
      out[key] = Object.fromEntries(
        Object.entries(value as Json).map(([k, v]) => [k, toStructural(v, `${path}.${k}`)]),
      );
      continue;
    }
    if (key === "items") {
      out[key] = toStructural(value, `${path}[]`);
      continue;
    }
    out[key] = value;
  }
  if (out.default !== undefined) out.default = expandDefault(out.default, out);
  if (
    out.type === undefined &&
    !out["x-kubernetes-preserve-unknown-fields"] &&
    !out["x-kubernetes-int-or-string"]
  )
    throw new Error(`${path}: every node of a structural schema needs a type`);
  if (
    out.type === "object" &&
    !out.properties &&
    !out.additionalProperties &&
    !out["x-kubernetes-preserve-unknown-fields"]
  )
    out.properties = {};
  return out;
}

/**
 * Fills an object default with its properties' own defaults. The API server validates a default (CEL rules
 * included) as written, without applying nested defaults first, so `cpu: {default: {}}` would fail a rule
 * that reads `self.sockets`.
 */
function expandDefault(value: unknown, schema: Json): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value) || schema.type !== "object")
    return value;
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const out: Json = { ...(value as Json) };
  for (const [k, p] of Object.entries(props)) {
    if (out[k] === undefined && p.default !== undefined) out[k] = p.default;
    else if (out[k] !== undefined) out[k] = expandDefault(out[k], p);
  }
  return out;
}

/** JSON Schema (OpenAPI 3.0 flavour) of a zod schema as a user writes it: defaults shown, defaulted fields optional. */
export function openApiOf(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, { io: "input", target: "openapi-3.0", unrepresentable: "throw" }) as Json;
}
