/** The cluster commands' only door to Kubernetes: kubeconfig loading, VM/pod reads, patches, error wording. */
import { existsSync } from "node:fs";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from "@kubernetes/client-node";
import { API_VERSION, GROUP, PLURAL, VERSION } from "../../crds/api/virtual-machine.ts";
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
export function explainApiError(err: unknown, what: string, kc: KubeConfig): ClusterCliError {
  if (err instanceof ClusterCliError) return err;
  const server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  if (err instanceof ApiException) {
    const body = parseBody(err.body);
    const detail = body?.message ?? String(err.body ?? err.message);
    if (err.code === 401)
      return new ClusterCliError(
        "UNAUTHORIZED",
        `${what}: the API server at ${server} did not accept your credentials; log in again or pick another --context`,
        { cause: err },
      );
    if (err.code === 403)
      return new ClusterCliError(
        "FORBIDDEN",
        `${what}: forbidden: ${detail}. Ask your cluster admin for that permission.`,
        { cause: err },
      );
    return new ClusterCliError("API", `${what}: ${detail} (HTTP ${err.code})`, { cause: err });
  }
  const code =
    (err as NodeJS.ErrnoException | undefined)?.code ??
    (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ETIMEDOUT")
    return new ClusterCliError(
      "UNREACHABLE",
      `${what}: cannot reach the API server at ${server} (${code}); check --context/--kubeconfig`,
      { cause: err },
    );
  return new ClusterCliError("API", `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

type StatusBody = { message?: string; details?: { name?: string } };

function parseBody(body: unknown): StatusBody | undefined {
  if (typeof body === "object" && body !== null) return body as StatusBody;
  if (typeof body !== "string") return undefined;
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return undefined;
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** A 404 for the object itself (details.name set) rather than for its type (CRD not installed). */
function objectNotFound(err: unknown): boolean {
  return isNotFound(err) && parseBody((err as ApiException<unknown>).body)?.details?.name !== undefined;
}

function crdMissing(cause: unknown): ClusterCliError {
  return new ClusterCliError(
    "API",
    `the cluster does not serve ${API_VERSION} VirtualMachines: is Vireo installed? (see docs/install.md: helm install vireo charts/vireo)`,
    { cause },
  );
}

/** Reads, lists and patches VirtualMachines and reads pods, with errors worded for people. */
export class VmClient {
  readonly #kc: KubeConfig;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  /** The VM, or VM_NOT_FOUND with the command that lists what exists. */
  async getVm(namespace: string, name: string): Promise<VmView> {
    let raw: unknown;
    try {
      raw = await this.#custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      });
    } catch (err) {
      if (objectNotFound(err)) throw notFound(namespace, name, err);
      if (isNotFound(err)) throw crdMissing(err);
      throw explainApiError(err, `get VirtualMachine ${name}`, this.#kc);
    }
    return parseVm(raw);
  }

  /** VMs of one namespace, or of all when `namespace` is undefined; sorted by namespace and name. */
  async listVms(namespace: string | undefined): Promise<VmView[]> {
    let raw: { items?: unknown[] };
    try {
      raw = (
        namespace === undefined
          ? await this.#custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
          : await this.#custom.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace,
              plural: PLURAL,
            })
      ) as {
        items?: unknown[];
      };
    } catch (err) {
      if (isNotFound(err)) throw crdMissing(err);
      throw explainApiError(err, "list VirtualMachines", this.#kc);
    }
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
    try {
      const raw = await this.#custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: patch,
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      return parseVm(raw);
    } catch (err) {
      if (objectNotFound(err)) throw notFound(namespace, name, err);
      if (isNotFound(err)) throw crdMissing(err);
      throw explainApiError(err, `patch VirtualMachine ${name}`, this.#kc);
    }
  }

  /** A pod, or undefined when it does not exist. */
  async getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.#core.readNamespacedPod({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw explainApiError(err, `get pod ${name}`, this.#kc);
    }
  }
}

/** Whether an error is a 409 Conflict (the VM changed between read and patch). */
export function isConflict(err: unknown): boolean {
  return err instanceof ClusterCliError && err.cause instanceof ApiException && err.cause.code === 409;
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
