/**
 * Instancetype and preference objects as manifests: parsing them (with field paths), the shipped set as
 * objects, and resolving a VM's references against a set of them offline (`vireo validate`, `vireo expand`).
 */
import { API_VERSION } from "./virtual-machine.ts";
import {
  CLUSTER_INSTANCETYPE_KIND,
  INSTANCETYPE_KIND,
  INSTANCETYPE_KINDS,
  instancetypeSpecSchema,
  type InstancetypeSpec,
} from "./instancetype.ts";
import {
  CLUSTER_PREFERENCE_KIND,
  PREFERENCE_KIND,
  PREFERENCE_KINDS,
  preferenceSpecSchema,
  type PreferenceSpec,
} from "./preference.ts";
import { COMMON_INSTANCETYPES } from "./instancetype-common.ts";
import { COMMON_PREFERENCES } from "./preference-common.ts";
import { referencesOf, type ExpansionInputs, type Resolved } from "./instancetype-expand.ts";
import { formatPath, problemsFrom, type Problem } from "./validate.ts";

/** The four kinds a profile document may have. */
export const PROFILE_KINDS: readonly string[] = [...INSTANCETYPE_KINDS, ...PREFERENCE_KINDS];

/** A parsed instancetype or preference object. */
export interface Profile {
  kind: string;
  name: string;
  /** Set for the namespaced kinds (offline: what the manifest says, or unset). */
  namespace?: string;
  spec: InstancetypeSpec | PreferenceSpec;
}

/** Parses an untrusted instancetype or preference object; problems carry field paths. */
export function parseProfile(
  obj: unknown,
): { ok: true; profile: Profile } | { ok: false; problems: Problem[] } {
  const o = obj as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; spec?: unknown };
  const kind = String(o.kind);
  if (!PROFILE_KINDS.includes(kind))
    return { ok: false, problems: [{ path: "kind", message: `not one of ${PROFILE_KINDS.join(", ")}` }] };
  const name = o.metadata?.name;
  if (typeof name !== "string" || !name)
    return { ok: false, problems: [{ path: "metadata.name", message: "required" }] };
  const schema = (INSTANCETYPE_KINDS as readonly string[]).includes(kind)
    ? instancetypeSpecSchema
    : preferenceSpecSchema;
  const r = schema.safeParse(o.spec);
  if (!r.success)
    return {
      ok: false,
      problems: problemsFrom(r.error).map((p) => ({
        ...p,
        path: p.path === formatPath([]) ? "spec" : `spec.${p.path}`,
      })),
    };
  const namespaced = kind === INSTANCETYPE_KIND || kind === PREFERENCE_KIND;
  const ns = typeof o.metadata?.namespace === "string" ? o.metadata.namespace : undefined;
  return { ok: true, profile: { kind, name, ...(namespaced && ns ? { namespace: ns } : {}), spec: r.data } };
}

const labels = { "app.kubernetes.io/name": "vireo", "app.kubernetes.io/component": "common-profiles" };

/** The shipped instancetypes and preferences as cluster-scoped manifests (what the chart installs). */
export function commonProfileObjects(): Record<string, unknown>[] {
  return [
    ...COMMON_INSTANCETYPES.map((i) => ({
      apiVersion: API_VERSION,
      kind: CLUSTER_INSTANCETYPE_KIND,
      metadata: { name: i.name, labels, annotations: { "vireo.dev/description": i.description } },
      spec: i.spec,
    })),
    ...COMMON_PREFERENCES.map((p) => ({
      apiVersion: API_VERSION,
      kind: CLUSTER_PREFERENCE_KIND,
      metadata: { name: p.name, labels, annotations: { "vireo.dev/description": p.description } },
      spec: p.spec,
    })),
  ];
}

/** The shipped set, parsed (the chart installs it; offline tools assume it unless a file says otherwise). */
export function commonProfiles(): Profile[] {
  return commonProfileObjects().map((o) => {
    const r = parseProfile(o);
    if (!r.ok)
      throw new Error(
        `shipped profile ${String((o.metadata as { name: string }).name)} is invalid: ${JSON.stringify(r.problems)}`,
      );
    return r.profile;
  });
}

/**
 * Resolves a VM's references against `profiles` (a later profile of the same kind and name wins, so files
 * override the shipped set). Namespaced kinds match the VM's namespace, or any namespace when neither says.
 */
export function resolveOffline(
  vm: { metadata?: object; spec?: unknown },
  profiles: Profile[],
): { ok: true; inputs: ExpansionInputs } | { ok: false; problems: Problem[] } {
  const refs = referencesOf(vm.spec);
  const nsValue = (vm.metadata as { namespace?: unknown } | undefined)?.namespace;
  const ns = typeof nsValue === "string" ? nsValue : undefined;
  const find = (kind: string, name: string) =>
    profiles.findLast(
      (p) => p.kind === kind && p.name === name && (!p.namespace || !ns || p.namespace === ns),
    );
  const problems: Problem[] = [];
  const inputs: ExpansionInputs = {};
  if (refs.instancetype) {
    const p = find(refs.instancetype.kind, refs.instancetype.name);
    if (p)
      inputs.instancetype = {
        kind: p.kind,
        name: p.name,
        spec: p.spec as InstancetypeSpec,
      } satisfies Resolved<InstancetypeSpec>;
    else
      problems.push({
        path: "spec.instancetype.name",
        message: `${refs.instancetype.kind} ${refs.instancetype.name} is not in the given files nor shipped with Vireo`,
      });
  }
  if (refs.preference) {
    const p = find(refs.preference.kind, refs.preference.name);
    if (p) inputs.preference = { kind: p.kind, name: p.name, spec: p.spec as PreferenceSpec };
    else
      problems.push({
        path: "spec.preference.name",
        message: `${refs.preference.kind} ${refs.preference.name} is not in the given files nor shipped with Vireo`,
      });
  }
  return problems.length ? { ok: false, problems } : { ok: true, inputs };
}
