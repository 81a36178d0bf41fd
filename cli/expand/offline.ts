/**
 * Offline expansion (`vireo expand -f`, `vireo validate`): profiles come from the given manifests and, for
 * names the files do not define, from the set the chart ships. Pure.
 */
import { parseYamlDocuments } from "../yaml-docs.ts";
import { expandVirtualMachine } from "../../crds/api/instancetype-expand.ts";
import {
  commonProfiles,
  parseProfile,
  PROFILE_KINDS,
  resolveOffline,
  type Profile,
} from "../../crds/api/instancetype-objects.ts";
import { validateVirtualMachine, type Problem } from "../../crds/api/validate.ts";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";

/** True for a document of one of the four instancetype/preference kinds. */
export function isProfileDocument(value: unknown): boolean {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" && PROFILE_KINDS.includes(kind);
}

/** Profiles defined in a manifest text, valid ones only (invalid ones are reported where they are checked). */
export function profilesIn(text: string): Profile[] {
  return parseYamlDocuments(text).flatMap((d) => {
    if (d.errors.length) return [];
    const v: unknown = d.toJS();
    if (!isProfileDocument(v)) return [];
    const r = parseProfile(v);
    return r.ok ? [r.profile] : [];
  });
}

/** The shipped set with the files' profiles after it (a later definition of a name wins). */
export function profileLibrary(fromFiles: Profile[]): Profile[] {
  return [...commonProfiles(), ...fromFiles];
}

/**
 * A VM as it will run: references resolved in `profiles`, expanded, then validated as any VM. A VM without
 * references is just validated.
 */
export function expandOffline(
  value: object,
  profiles: Profile[],
): { ok: true; vm: VirtualMachine } | { ok: false; problems: Problem[] } {
  const resolved = resolveOffline(value, profiles);
  if (!resolved.ok) return resolved;
  const expanded = expandVirtualMachine(value as { spec?: unknown }, resolved.inputs);
  if (!expanded.ok) return { ok: false, problems: expanded.problems };
  const v = validateVirtualMachine(expanded.vm);
  return v.ok ? { ok: true, vm: v.vm } : { ok: false, problems: v.problems };
}
