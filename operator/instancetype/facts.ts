/**
 * The instancetype/preference step of `decide`, pure: the VM as stored plus what its references resolved to
 * (operator/instancetype/resolver.ts) → the VM with its spec expanded, or the problems that make it invalid.
 */
import {
  expandVirtualMachine,
  referencesOf,
  type ExpansionInputs,
} from "../../crds/api/instancetype-expand.ts";
import type { Problem } from "../../crds/api/validate.ts";

/** What the shell found for a VM's references: inputs to expand with and the revisions pinned, or problems. */
export type ProfileFacts =
  | { ok: true; inputs: ExpansionInputs; revisions: { instancetype?: string; preference?: string } }
  | { ok: false; problems: Problem[]; missing: boolean };

/** True when the VM names an instancetype or a preference. */
export function hasProfiles(spec: unknown): boolean {
  const r = referencesOf(spec);
  return r.instancetype !== undefined || r.preference !== undefined;
}

/**
 * Expands `raw` with `facts`. The revisions just pinned go into the spec too, so the spec the launcher pod is
 * built from (and hashed) is the same before and after the operator's revisionName patch lands.
 */
export function expandWithFacts<T extends { spec?: unknown }>(
  raw: T,
  facts: ProfileFacts | undefined,
): { ok: true; vm: T } | { ok: false; message: string } {
  if (!hasProfiles(raw.spec)) return { ok: true, vm: raw };
  if (!facts)
    return { ok: false, message: "spec.instancetype: instancetype and preference were not resolved" };
  if (!facts.ok) return { ok: false, message: render(facts.problems) };
  const spec = { ...(raw.spec as Record<string, unknown>) };
  for (const field of ["instancetype", "preference"] as const) {
    const pinned = facts.revisions[field];
    if (pinned && spec[field]) spec[field] = { ...(spec[field] as object), revisionName: pinned };
  }
  const r = expandVirtualMachine({ ...raw, spec }, facts.inputs);
  return r.ok ? { ok: true, vm: r.vm } : { ok: false, message: `${r.code}: ${render(r.problems)}` };
}

const render = (problems: Problem[]) => problems.map((p) => `${p.path}: ${p.message}`).join("; ");
