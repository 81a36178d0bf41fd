/**
 * What `vireo version` reports, from what it read: the client's package.json, the API server's /version and
 * the operator Deployments it found. Pure: version.ts does the reading.
 */

/** One operator install found in the cluster. */
export interface OperatorInstall {
  namespace: string;
  name: string;
  /** The chart's app.kubernetes.io/version label, if any. */
  version: string | undefined;
  image: string | undefined;
  ready: number;
  replicas: number;
}

/** Everything `vireo version` knows. `server`/`operators` are undefined when not asked or not readable. */
export interface VersionReport {
  client: string;
  server?: string | undefined;
  operators?: OperatorInstall[] | undefined;
  /** Why the cluster part is missing (unreachable, forbidden), if it is. */
  clusterError?: string | undefined;
}

/** The human form, kubectl-like: "Client Version: …" lines. */
export function formatVersion(r: VersionReport): string {
  const lines = [`Client Version: ${r.client}`];
  if (r.server !== undefined) lines.push(`Kubernetes Version: ${r.server}`);
  if (r.operators !== undefined) {
    if (r.operators.length === 0) lines.push("Operator Version: (no Vireo operator found in the cluster)");
    for (const o of r.operators)
      lines.push(
        `Operator Version: ${o.version ?? "(unlabelled)"} (${o.namespace}/${o.name}, ` +
          `image ${o.image ?? "(none)"}, ${o.ready}/${o.replicas} ready)`,
      );
  }
  if (r.clusterError !== undefined) lines.push(`(cluster: ${r.clusterError})`);
  const skew = versionSkew(r);
  if (skew) lines.push(`WARNING: ${skew}`);
  return lines.join("\n");
}

/** A warning when the client's and an operator's minor versions differ, else undefined. */
export function versionSkew(r: VersionReport): string | undefined {
  const minor = (v: string) => /^v?(\d+)\.(\d+)/.exec(v)?.slice(1, 3).join(".");
  const mine = minor(r.client);
  const other = r.operators?.find((o) => o.version !== undefined && minor(o.version) !== mine);
  return other && mine
    ? `client ${r.client} and operator ${other.version} (${other.namespace}/${other.name}) differ in minor version`
    : undefined;
}
