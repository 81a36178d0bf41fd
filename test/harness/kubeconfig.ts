import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

/** A cluster endpoint and how to trust it. */
export interface ClusterAccess {
  /** API server URL. */
  server: string;
  /** Base64 PEM CA bundle, if the server's certificate is not publicly trusted. */
  caData?: string;
  /** Skip TLS verification (only when the source kubeconfig already did). */
  skipTLSVerify?: boolean;
}

/** Credentials for one user entry. */
export type UserAccess = { token: string } | { certData: string; keyData: string };

/** Renders a single-context kubeconfig document. */
export function renderKubeconfig(cluster: ClusterAccess, userName: string, user: UserAccess): string {
  const clusterEntry: Record<string, unknown> = { server: cluster.server };
  if (cluster.caData !== undefined) clusterEntry["certificate-authority-data"] = cluster.caData;
  if (cluster.skipTLSVerify === true) clusterEntry["insecure-skip-tls-verify"] = true;
  const userEntry =
    "token" in user
      ? { token: user.token }
      : { "client-certificate-data": user.certData, "client-key-data": user.keyData };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "vireo-test", cluster: clusterEntry }],
    users: [{ name: userName, user: userEntry }],
    contexts: [{ name: userName, context: { cluster: "vireo-test", user: userName } }],
    "current-context": userName,
  });
}

/** Writes a kubeconfig file (mode 0600: it holds credentials) and loads it. */
export async function writeKubeconfig(path: string, text: string): Promise<KubeConfig> {
  await writeFile(path, text, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** The current cluster of `kc` as {@link ClusterAccess}, reading a CA file into data if needed. */
export async function clusterAccessOf(kc: KubeConfig): Promise<ClusterAccess> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("the kubeconfig has no current cluster");
  const caData =
    cluster.caData ?? (cluster.caFile ? (await readFile(cluster.caFile)).toString("base64") : undefined);
  return {
    server: cluster.server,
    ...(caData === undefined ? {} : { caData }),
    ...(cluster.skipTLSVerify ? { skipTLSVerify: true } : {}),
  };
}

/** A kubeconfig for one identity, as an object and as a file for kubectl/helm. */
export interface Identity {
  /** Loaded kubeconfig. */
  kubeConfig: KubeConfig;
  /** The same kubeconfig as a file. */
  kubeconfigPath: string;
  /** The bearer token from TokenRequest. */
  token: string;
  /** Removes the file, and its directory when this helper created it. */
  dispose(): Promise<void>;
}

/** Options for {@link serviceAccountKubeconfig}. */
export interface ServiceAccountKubeconfigOptions {
  /** Directory for the kubeconfig file; default: a new temporary directory removed by `dispose()`. */
  dir?: string;
  /** Token lifetime; the API server's minimum is 600 s. */
  expirationSeconds?: number;
}

function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

/**
 * Creates ServiceAccount `namespace/name` if needed, asks the TokenRequest API for a token and returns a
 * kubeconfig that acts as that ServiceAccount, so a test can prove a Role grants enough and not more.
 */
export async function serviceAccountKubeconfig(
  kc: KubeConfig,
  namespace: string,
  name: string,
  options: ServiceAccountKubeconfigOptions = {},
): Promise<Identity> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const request = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const ownDir = options.dir === undefined ? await mkdtemp(join(tmpdir(), "vireo-sa-")) : undefined;
  const path = join(options.dir ?? (ownDir as string), `sa-${namespace}-${name}.kubeconfig`);
  const text = renderKubeconfig(await clusterAccessOf(kc), `system:serviceaccount:${namespace}:${name}`, {
    token,
  });
  const kubeConfig = await writeKubeconfig(path, text);
  return {
    kubeConfig,
    kubeconfigPath: path,
    token,
    async dispose() {
      await rm(ownDir ?? path, { recursive: true, force: true });
    },
  };
}
