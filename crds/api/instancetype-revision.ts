/**
 * Pinned revisions: the instancetype or preference a VM first ran with, kept as a ControllerRevision (apps/v1)
 * owned by the VM, so editing the instancetype later leaves the VM alone. The operator writes them; the
 * operator and `vireo expand` read them. The data is the profile object as it was.
 */
import { createHash } from "node:crypto";
import { INSTANCETYPE_KINDS, type InstancetypeSpec } from "./instancetype.ts";
import { referencesOf, type ExpansionInputs } from "./instancetype-expand.ts";
import { parseProfile, type Profile } from "./instancetype-objects.ts";
import type { PreferenceSpec } from "./preference.ts";
import { API_VERSION, KIND } from "./virtual-machine.ts";
import type { Problem } from "./validate.ts";

/** Label on a revision naming the VM it belongs to. */
export const REVISION_VM_LABEL = "vireo.dev/vm";

/** A profile object as the API server returns it (what a revision's data holds). */
export interface ProfileObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
  spec?: unknown;
}

/** Short, stable digest of what a revision holds; names the revision, so the same content is created once. */
export function profileDigest(p: Profile): string {
  const text = JSON.stringify({ kind: p.kind, name: p.name, spec: p.spec });
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
}

/** The revision's name: `<vm>-<profile>-<digest>`, a DNS-1123 subdomain of at most 253 characters. */
export function revisionName(vm: string, p: Profile): string {
  const slug = p.name.replace(/[^a-z0-9.-]/g, "-");
  return `${vm}-${slug}`.slice(0, 240).replace(/[.-]+$/, "") + `-${profileDigest(p)}`;
}

/** The ControllerRevision that pins `obj` for the VM (pure; the operator creates it). */
export function buildRevision(
  vm: { name: string; namespace: string; uid: string },
  obj: ProfileObject,
  p: Profile,
): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: revisionName(vm.name, p),
      namespace: vm.namespace,
      labels: { [REVISION_VM_LABEL]: vm.name, "app.kubernetes.io/managed-by": "vireo-operator" },
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: vm.name, uid: vm.uid }],
    },
    data: {
      apiVersion: obj.apiVersion ?? API_VERSION,
      kind: p.kind,
      metadata: {
        name: p.name,
        ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
        ...(obj.metadata?.generation !== undefined ? { generation: obj.metadata.generation } : {}),
      },
      spec: obj.spec,
    },
    revision: Math.max(1, obj.metadata?.generation ?? 1),
  };
}

/** Where references are resolved from: the live profiles and the pinned revisions (the API, or a test's map). */
export interface ProfileSource {
  /** The live object, or undefined when it does not exist. `namespace` is set for the namespaced kinds. */
  profile(kind: string, name: string, namespace?: string): Promise<ProfileObject | undefined>;
  /** A revision's data, or undefined when it does not exist. */
  revision(namespace: string, name: string): Promise<ProfileObject | undefined>;
}

/** One reference resolved: the profile, whence it came, and the revision to pin when it is not pinned yet. */
export interface ResolvedRef {
  field: "instancetype" | "preference";
  profile: Profile;
  /** Set when the VM had no revisionName: the live object, to be pinned as a new revision. */
  unpinned?: ProfileObject;
  /** The live object differs from the pinned revision (the VM keeps the revision). */
  liveDiffers?: boolean;
}

/** Result of {@link resolveReferences}. */
export type Resolution =
  | { ok: true; refs: ResolvedRef[]; inputs: ExpansionInputs }
  | { ok: false; problems: Problem[]; missing: boolean };

const namespaced = (kind: string) => !kind.startsWith("VirtualMachineCluster");

/**
 * Resolves a VM's references: a pinned revision wins over the live object (which is still read, to report
 * that it changed); without a revision the live object is used and returned for pinning. `missing` says a
 * referenced object does not exist (worth waiting for), as opposed to one that is invalid.
 */
export async function resolveReferences(
  vm: { metadata: { namespace?: string }; spec?: unknown },
  source: ProfileSource,
): Promise<Resolution> {
  const ns = vm.metadata.namespace ?? "default";
  const refs = referencesOf(vm.spec);
  const out: ResolvedRef[] = [];
  const problems: Problem[] = [];
  let missing = false;
  for (const field of ["instancetype", "preference"] as const) {
    const ref = refs[field];
    if (!ref) continue;
    const live = await source.profile(ref.kind, ref.name, namespaced(ref.kind) ? ns : undefined);
    const livep = live ? parseProfile({ ...live, kind: ref.kind }) : undefined;
    if (ref.revisionName) {
      const data = await source.revision(ns, ref.revisionName);
      const pinned = data ? parseProfile(data) : undefined;
      if (!pinned) {
        missing ||= !data;
        problems.push({
          path: `spec.${field}.revisionName`,
          message: `ControllerRevision ${ref.revisionName} ${data ? "does not hold a valid profile" : "not found"}`,
        });
      } else if (pinned.ok && (pinned.profile.kind !== ref.kind || pinned.profile.name !== ref.name))
        problems.push({
          path: `spec.${field}.revisionName`,
          message: `ControllerRevision ${ref.revisionName} holds ${pinned.profile.kind} ${pinned.profile.name}, not ${ref.kind} ${ref.name}; clear revisionName`,
        });
      else if (!pinned.ok)
        problems.push(...pinned.problems.map((p) => ({ ...p, path: `spec.${field}.revisionName` })));
      else {
        const differs = livep?.ok ? profileDigest(livep.profile) !== profileDigest(pinned.profile) : false;
        out.push({ field, profile: pinned.profile, ...(differs ? { liveDiffers: true } : {}) });
      }
      continue;
    }
    if (!live) {
      missing = true;
      problems.push({
        path: `spec.${field}.name`,
        message: `${ref.kind} ${ref.name} not found${namespaced(ref.kind) ? ` in namespace ${ns}` : ""}`,
      });
    } else if (!livep!.ok)
      problems.push(
        ...livep!.problems.map((p) => ({
          path: `spec.${field}.name`,
          message: `${ref.kind} ${ref.name}: ${p.path}: ${p.message}`,
        })),
      );
    else out.push({ field, profile: livep!.profile, unpinned: live });
  }
  if (problems.length) return { ok: false, problems, missing };
  const inputs: ExpansionInputs = {};
  for (const r of out) {
    const resolved = { kind: r.profile.kind, name: r.profile.name };
    if (r.field === "instancetype")
      inputs.instancetype = { ...resolved, spec: r.profile.spec as InstancetypeSpec };
    else inputs.preference = { ...resolved, spec: r.profile.spec as PreferenceSpec };
  }
  return { ok: true, refs: out, inputs };
}

/** The plural a profile kind is served under. */
export function pluralOf(kind: string): string {
  return `${kind.toLowerCase()}s`;
}

/** True for an instancetype kind. */
export const isInstancetypeKind = (kind: string) => (INSTANCETYPE_KINDS as readonly string[]).includes(kind);
