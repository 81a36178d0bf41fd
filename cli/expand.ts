/**
 * `vireo expand`: a VM as it runs, its instancetype and preference applied. Offline from files
 * (`-f vm.yaml -f it.yaml`, the shipped set assumed for names the files do not define), or from the cluster
 * (`vireo expand VM`: the pinned revisions, else the live objects, exactly as the operator resolves them).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { parseYamlDocuments } from "./yaml-docs.ts";
import { expandVirtualMachine } from "../crds/api/instancetype-expand.ts";
import { resolveReferences } from "../crds/api/instancetype-revision.ts";
import { validateVirtualMachine, type Problem } from "../crds/api/validate.ts";
import { GROUP, KIND, PLURAL, VERSION, type VirtualMachine } from "../crds/api/virtual-machine.ts";
import { resourcePath } from "../lib/kube/paths.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { ClusterClient, loadTarget } from "./cluster/kube.ts";
import { expandOffline, isProfileDocument, profileLibrary, profilesIn } from "./expand/offline.ts";

const HELP = `usage: vireo expand VM [-n NS] | vireo expand -f FILE [-f FILE...]

Prints VirtualMachines as they run: the instancetype's vCPUs and memory and the preference's defaults applied,
then every default filled in. Exits 1 with each problem's field path when a VM cannot be expanded.

  -f, --filename FILE   offline: VMs and the instancetypes/preferences they name (multi-document YAML; - for
                        stdin); names no file defines come from the set the chart ships
  -o, --output FORMAT   yaml (default) or json
  -n, --namespace NS    the VM's namespace (default: the kubeconfig context's, else "default")
      --kubeconfig FILE, --context NAME   as kubectl`;

/** A VM without its status and server-side metadata, as it runs. */
function printable(vm: VirtualMachine): Record<string, unknown> {
  const { name, namespace } = vm.metadata;
  return {
    apiVersion: vm.apiVersion,
    kind: vm.kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: vm.spec,
  };
}

function offline(files: string[]): { vms: Record<string, unknown>[]; problems: string[] } {
  const texts = files.map((f) => [f, readFileSync(f === "-" ? 0 : f, "utf8")] as const);
  const profiles = profileLibrary(texts.flatMap(([, t]) => profilesIn(t)));
  const vms: Record<string, unknown>[] = [];
  const problems: string[] = [];
  for (const [file, text] of texts)
    for (const doc of parseYamlDocuments(text)) {
      if (doc.errors.length)
        problems.push(`${file}: malformed YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
      const value: unknown = doc.toJS();
      if (
        !value ||
        typeof value !== "object" ||
        isProfileDocument(value) ||
        (value as { kind?: unknown }).kind !== KIND
      )
        continue;
      const r = expandOffline(value, profiles);
      if (r.ok) vms.push(printable(r.vm));
      else problems.push(...r.problems.map((p) => `${file}: ${p.path}: ${p.message}`));
    }
  if (vms.length === 0 && problems.length === 0) problems.push(`no VirtualMachine in ${files.join(", ")}`);
  return { vms, problems };
}

async function online(
  name: string,
  values: { namespace?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined },
): Promise<Record<string, unknown>> {
  const target = loadTarget(values);
  const path = resourcePath({ group: GROUP, version: VERSION, plural: PLURAL }, target.namespace, name);
  const raw = await new ClusterClient(target.kubeConfig).request<{
    metadata: { namespace?: string };
    spec?: unknown;
  }>(`get VirtualMachine ${name}`, "GET", path);
  const { ClusterProfileSource } = await import("./expand/source.ts");
  const fail = (problems: Problem[]) =>
    new ClusterCliError("API", problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  const resolved = await resolveReferences(raw, new ClusterProfileSource(target.kubeConfig));
  if (!resolved.ok) throw fail(resolved.problems);
  const expanded = expandVirtualMachine({ ...raw, status: undefined }, resolved.inputs);
  if (!expanded.ok) throw fail(expanded.problems);
  const v = validateVirtualMachine(expanded.vm);
  if (!v.ok) throw fail(v.problems);
  return printable(v.vm);
}

/** `vireo expand`: 0 when every VM expanded, 1 on problems, 2 on usage. */
export async function expandCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        filename: { type: "string", short: "f", multiple: true },
        output: { type: "string", short: "o", default: "yaml" },
        namespace: { type: "string", short: "n" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`vireo expand: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) return (console.log(HELP), 0);
  const files = values.filename ?? [];
  if (
    files.length > 0 === positionals.length > 0 ||
    positionals.length > 1 ||
    !["yaml", "json"].includes(values.output)
  ) {
    console.error(HELP);
    return 2;
  }
  const print = (vms: Record<string, unknown>[]) =>
    console.log(
      values.output === "json"
        ? JSON.stringify(vms.length === 1 ? vms[0] : vms, null, 2)
        : vms
            .map((v) => stringify(v, { lineWidth: 0 }))
            .join("---\n")
            .trimEnd(),
    );
  if (files.length) {
    let r;
    try {
      r = offline(files);
    } catch (err) {
      console.error(`vireo expand: ${(err as Error).message}`);
      return 1;
    }
    for (const p of r.problems) console.error(p);
    if (r.vms.length) print(r.vms);
    return r.problems.length ? 1 : 0;
  }
  try {
    print([await online(positionals[0]!, values)]);
    return 0;
  } catch (err) {
    if (err instanceof ClusterCliError) {
      console.error(`vireo expand: ${err.message}`);
      return err.code === "USAGE" ? 2 : 1;
    }
    throw err;
  }
}
