/**
 * `vireo version [--client] [-o json]`: the CLI's version and, unless --client, the Kubernetes version and
 * every Vireo operator Deployment the kubeconfig may list (label app.kubernetes.io/part-of=vireo,
 * component=operator), with the chart's version label, image and readiness. A cluster it cannot reach or
 * read is reported, not fatal: the client version always prints. Exit 0, or 2 on bad usage.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { V1Deployment } from "@kubernetes/client-node";
import { resourcePath } from "../lib/kube/paths.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { ClusterClient, explainApiError, loadTarget } from "./cluster/kube.ts";
import { formatVersion, type OperatorInstall, type VersionReport } from "./version/format.ts";

const HELP = `usage: vireo version [--client] [-o json] [--kubeconfig FILE] [--context NAME]

Prints the vireo CLI's version and, unless --client, the cluster's Kubernetes version and each Vireo
operator found in it (chart version label, image, ready replicas).`;

/** Set by the single-file bundle (scripts/cli/bundle.sh, esbuild --define), which has no package.json beside it. */
declare const VIREO_BUNDLED_VERSION: string | undefined;

/** The bundle's version, else the one in the nearest package.json named "vireo" above this file (checkout or image). */
export function clientVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  if (typeof VIREO_BUNDLED_VERSION === "string") return VIREO_BUNDLED_VERSION;
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "vireo" && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

/** `vireo version ARGS`: returns the exit code. */
export async function versionCommand(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        client: { type: "boolean", default: false },
        output: { type: "string", short: "o" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    console.error(`vireo version: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (v.output !== undefined && v.output !== "json") {
    console.error(`vireo version: --output must be json; got "${v.output}"`);
    return 2;
  }
  const report: VersionReport = { client: clientVersion() };
  if (!v.client) Object.assign(report, await clusterVersions(v));
  console.log(v.output === "json" ? JSON.stringify(report, null, 2) : formatVersion(report));
  return 0;
}

async function clusterVersions(opts: {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}): Promise<Partial<VersionReport>> {
  let kc;
  try {
    kc = loadTarget(opts).kubeConfig;
  } catch (err) {
    return { clusterError: (err as Error).message };
  }
  const out: Partial<VersionReport> = {};
  try {
    const api = new ClusterClient(kc);
    out.server = (await api.request<{ gitVersion: string }>("read versions", "GET", "/version")).gitVersion;
    const list = await api.request<{ items: V1Deployment[] }>(
      "read versions",
      "GET",
      resourcePath({ group: "apps", version: "v1", plural: "deployments" }),
      { query: { labelSelector: "app.kubernetes.io/part-of=vireo,app.kubernetes.io/component=operator" } },
    );
    out.operators = list.items.map((d): OperatorInstall => ({
      namespace: d.metadata?.namespace ?? "",
      name: d.metadata?.name ?? "",
      version: d.metadata?.labels?.["app.kubernetes.io/version"],
      image: d.spec?.template.spec?.containers[0]?.image,
      ready: d.status?.readyReplicas ?? 0,
      replicas: d.spec?.replicas ?? 1,
    }));
  } catch (err) {
    const e = err instanceof ClusterCliError ? err : explainApiError(err, "read versions", kc);
    out.clusterError = e.message;
  }
  return out;
}
