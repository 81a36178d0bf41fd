/**
 * The cluster commands' only door to Kubernetes: kubeconfig loading, VM/pod reads, patches, error wording. Requests
 * go through the operator's keep-alive client (lib/kube), so the CLI shares its one error type; client-node stays
 * for kubeconfig handling and the streaming calls (exec, port-forward) that client does not make.
 */
import { existsSync } from "node:fs";
import { ApiException, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { API_VERSION, GROUP, PLURAL, VERSION } from "../../crds/api/virtual-machine.ts";
import { KubeClient, PATCH } from "../../lib/kube/client.ts";
import { isApiStatus, KubeApiError } from "../../lib/kube/errors.ts";
import { resourcePath } from "../../lib/kube/paths.ts";
import { ClusterCliError } from "./errors.ts";
import { type VmView, vmViewSchema } from "./vm-view.ts";

/** Field manager of every write the CLI makes. */
export const FIELD_MANAGER = "vireo-cli";

/** A kubeconfig with the namespace to use, resolved like kubectl does. */
export interface ClusterTarget {
  kubeConfig: KubeConfig;
  namespace: string;
}

/**
 * Loads --kubeconfig (else $KUBECONFIG, ~/.kube/config, in-cluster), switches to --context, and picks the
 * namespace: -n, else the context's namespace, else "default".
 */
export function loadTarget(opts: {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
}): ClusterTarget {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig !== undefined) {
      if (!existsSync(opts.kubeconfig)) throw new Error(`${opts.kubeconfig} does not exist`);
      kc.loadFromFile(opts.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (cause) {
    throw new ClusterCliError("KUBECONFIG", `cannot load the kubeconfig: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ClusterCliError(
        "KUBECONFIG",
        `no context "${opts.context}" in the kubeconfig; contexts: ${known.join(", ") || "(none)"}`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new ClusterCliError(
      "KUBECONFIG",
      "the kubeconfig has no current cluster; pass --kubeconfig FILE or --context NAME, or set KUBECONFIG",
    );
  }
  const contextNs = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return { kubeConfig: kc, namespace: opts.namespace ?? contextNs ?? "default" };
}

/** Turns a client error into one that says what to do. `what` names the request, e.g. "get VM web". */
export function explainApiError(raw: unknown, what: string, kc: KubeConfig): ClusterCliError {
  if (raw instanceof ClusterCliError) return raw;
  const err = fromClientNode(raw, what);
  const server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  if (err instanceof KubeApiError && err.status !== 0) {
    const detail = err.serverMessage;
    if (err.status === 401)
      return new ClusterCliError(
        "UNAUTHORIZED",
        `${what}: the API server at ${server} did not accept your credentials; log in again or pick another --context`,
        { cause: err },
      );
    if (err.status === 403)
      return new ClusterCliError(
        "FORBIDDEN",
        `${what}: forbidden: ${detail}. Ask your cluster admin for that permission.`,
        { cause: err },
      );
    return new ClusterCliError("API", `${what}: ${detail} (HTTP ${err.status})`, { cause: err });
  }
  // No answer: the socket's own error (ECONNREFUSED, …) is the cause.
  const code =
    err instanceof KubeApiError
      ? (err.cause as NodeJS.ErrnoException | undefined)?.code
      : ((err as NodeJS.ErrnoException | undefined)?.code ??
        (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code);
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ETIMEDOUT")
    return new ClusterCliError(
      "UNREACHABLE",
      `${what}: cannot reach the API server at ${server} (${code}); check --context/--kubeconfig`,
      { cause: err },
    );
  return new ClusterCliError("API", `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * client-node's ApiException (from the calls still made through client-node) as the one error type. Its body is
 * the Status object, as text or parsed.
 */
function fromClientNode(err: unknown, what: string): unknown {
  if (!(err instanceof ApiException)) return err;
  let body: { reason?: string; message?: string } | undefined;
  try {
    body = typeof err.body === "string" ? JSON.parse(err.body) : (err.body as typeof body);
  } catch {
    body = undefined;
  }
  const message = body?.message ?? String(err.body ?? err.message);
  return new KubeApiError(err.code, body?.reason, message, what, { cause: err });
}

function isNotFound(err: unknown): boolean {
  return isApiStatus(err, 404);
}

/** A 404 for the object itself (details.name set) rather than for its type (CRD not installed). */
function objectNotFound(err: unknown): boolean {
  return isNotFound(err) && (err as KubeApiError).details?.name !== undefined;
}

function crdMissing(cause: unknown): ClusterCliError {
  return new ClusterCliError(
    "API",
    `the cluster does not serve ${API_VERSION} VirtualMachines: is Vireo installed? (see docs/install.md: helm install vireo charts/vireo)`,
    { cause },
  );
}

const VMS = { group: GROUP, version: VERSION, plural: PLURAL };
const PODS = { version: "v1", plural: "pods" };

/** Plain JSON requests over the keep-alive client, with errors worded for people. */
export class ClusterClient {
  readonly #kc: KubeConfig;
  #connected: Promise<KubeClient> | undefined;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  /** The kubeconfig requests authenticate with. */
  get kubeConfig(): KubeConfig {
    return this.#kc;
  }

  /** The keep-alive client, connected on first use (a command that never calls the API opens nothing). */
  protected client(): Promise<KubeClient> {
    return (this.#connected ??= KubeClient.connect(this.#kc, 4));
  }

  /** One request; failures come back as {@link ClusterCliError}s that say `what` was asked. */
  async request<T>(what: string, ...args: Parameters<KubeClient["request"]>): Promise<T> {
    try {
      return await (await this.client()).request<T>(...args);
    } catch (err) {
      throw explainApiError(err, what, this.#kc);
    }
  }

  /** A GET that answers undefined for 404. */
  async getIfExists<T>(what: string, path: string): Promise<T | undefined> {
    try {
      return await (await this.client()).request<T>("GET", path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw explainApiError(err, what, this.#kc);
    }
  }
}

/** Reads, lists and patches VirtualMachines and reads pods, with errors worded for people. */
export class VmClient extends ClusterClient {
  /**
   * One VM request; a 404 naming the VM becomes `missing` (when given), any other 404 means the CRD is not
   * served, and everything else is worded by {@link explainApiError}.
   */
  async #vmRequest<T>(
    what: string,
    missing: { namespace: string; name: string } | undefined,
    ...args: Parameters<KubeClient["request"]>
  ): Promise<T> {
    try {
      return await (await this.client()).request<T>(...args);
    } catch (err) {
      if (missing && objectNotFound(err)) throw notFound(missing.namespace, missing.name, err);
      if (isNotFound(err)) throw crdMissing(err);
      throw explainApiError(err, what, this.kubeConfig);
    }
  }

  /** The VM, or VM_NOT_FOUND with the command that lists what exists. */
  async getVm(namespace: string, name: string): Promise<VmView> {
    const path = resourcePath(VMS, namespace, name);
    return parseVm(await this.#vmRequest(`get VirtualMachine ${name}`, { namespace, name }, "GET", path));
  }

  /** VMs of one namespace, or of all when `namespace` is undefined; sorted by namespace and name. */
  async listVms(namespace: string | undefined): Promise<VmView[]> {
    const path = resourcePath(VMS, namespace);
    const raw = await this.#vmRequest<{ items?: unknown[] }>("list VirtualMachines", undefined, "GET", path);
    return (raw.items ?? [])
      .map(parseVm)
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      );
  }

  /** Applies a JSON merge patch as field manager vireo-cli. */
  async patchVm(namespace: string, name: string, patch: Record<string, unknown>): Promise<VmView> {
    const raw = await this.#vmRequest(
      `patch VirtualMachine ${name}`,
      { namespace, name },
      "PATCH",
      resourcePath(VMS, namespace, name),
      { body: patch, contentType: PATCH.merge, query: { fieldManager: FIELD_MANAGER } },
    );
    return parseVm(raw);
  }

  /** A pod, or undefined when it does not exist. */
  getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.getIfExists(`get pod ${name}`, resourcePath(PODS, namespace, name));
  }
}

/** Whether an error is a 409 Conflict (the VM changed between read and patch). */
export function isConflict(err: unknown): boolean {
  return err instanceof ClusterCliError && isApiStatus(err.cause, 409);
}

function notFound(namespace: string, name: string, cause: unknown): ClusterCliError {
  return new ClusterCliError(
    "VM_NOT_FOUND",
    `no VirtualMachine ${name} in namespace ${namespace}; list with kubectl get virtualmachines -n ${namespace}`,
    { cause },
  );
}

function parseVm(raw: unknown): VmView {
  const parsed = vmViewSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ClusterCliError(
      "API",
      `the API server returned a VirtualMachine this CLI cannot read: ${parsed.error.message}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}
