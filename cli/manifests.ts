import { formatPath, type Problem } from "../crds/api/validate.ts";
import { GROUP, type VirtualMachine } from "../crds/api/virtual-machine.ts";
import { parseProfile, type Profile } from "../crds/api/instancetype-objects.ts";
import { expandOffline, isProfileDocument, profileLibrary } from "./expand/offline.ts";
import { parseYamlDocuments } from "./yaml-docs.ts";

/** One document of a manifest file, validated. */
export interface CheckedDocument {
  /** Where the document starts, for messages: `file` or `file#2`. */
  source: string;
  /** Set when the document is another group's resource (a PVC beside the VM): not checked, not an error. */
  skipped?: string;
  /** The VM's name, when the document has one. */
  name?: string;
  /** Set for an instancetype or preference document (checked with its own schema). */
  kind?: string;
  vm?: VirtualMachine;
  problems: Problem[];
}

/**
 * Parses multi-document YAML and validates each document as a VirtualMachine. Malformed YAML becomes a
 * problem with the line and column, never an exception; empty documents (`---` at the end) are skipped.
 */
export function checkManifests(
  text: string,
  file: string,
  profiles: Profile[] = profileLibrary([]),
): CheckedDocument[] {
  const docs = parseYamlDocuments(text);
  const out: CheckedDocument[] = [];
  const many = docs.length > 1;
  docs.forEach((doc, i) => {
    const source = many ? `${file}#${i + 1}` : file;
    if (doc.errors.length) {
      out.push({
        source,
        problems: doc.errors.map((e) => ({
          path: e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "(yaml)",
          message: `malformed YAML: ${e.message.split("\n")[0]}`,
        })),
      });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value)) {
      out.push({
        source,
        problems: [{ path: formatPath([]), message: "a manifest must be a YAML mapping" }],
      });
      return;
    }
    const { apiVersion, kind } = value as { apiVersion?: unknown; kind?: unknown };
    // Manifests often carry a VM's PVC or Secret alongside it; those belong to other validators. A document
    // in our own group with a wrong version or kind is still checked, and fails.
    if (typeof apiVersion === "string" && typeof kind === "string" && apiVersion.split("/")[0] !== GROUP) {
      out.push({ source, skipped: `${kind} (${apiVersion})`, problems: [] });
      return;
    }
    const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
    if (isProfileDocument(value)) {
      const p = parseProfile(value);
      out.push({
        source,
        kind: String((value as { kind: string }).kind),
        ...(typeof name === "string" ? { name } : {}),
        problems: p.ok ? [] : p.problems,
      });
      return;
    }
    // A VM naming an instancetype or preference is checked as it will run: expanded with them first.
    const r = expandOffline(value, profiles);
    out.push({
      source,
      ...(typeof name === "string" ? { name } : {}),
      ...(r.ok ? { vm: r.vm, problems: [] } : { problems: r.problems }),
    });
  });
  return out;
}
