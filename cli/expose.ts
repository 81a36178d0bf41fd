/**
 * `vireo expose vm NAME --port P`: creates a Service for a VM's port (like virtctl expose). Checks the VM
 * exists, then creates the Service cli/expose/service.ts builds (field manager vireo-cli).
 */
import { parseArgs } from "node:util";
import { isApiStatus } from "../lib/kube/errors.ts";
import { resourcePath } from "../lib/kube/paths.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { FIELD_MANAGER, loadTarget, VmClient } from "./cluster/kube.ts";
import { buildService, ExposeError } from "./expose/service.ts";

const HELP = `usage: vireo expose vm NAME --port PORT [options]

Creates a Service that selects the VM's launcher pod (labels vireo.dev/vm=NAME,
app.kubernetes.io/component=launcher), so traffic to it reaches the guest's port through the pod network.

Options:
      --port PORT           the Service's port (required)
      --target-port PORT    the guest's port (default: --port)
      --name NAME           the Service's name (default: the VM's name)
      --type TYPE           ClusterIP (default), NodePort or LoadBalancer
      --protocol P          TCP (default), UDP or SCTP
  -n, --namespace NS        namespace (default: the kubeconfig context's, else "default")
      --kubeconfig FILE     kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context NAME        kubeconfig context (default: the current context)
  -h, --help                this help

With the masquerade or passt binding only ports listed in the interface's ports reach the guest.`;

/** `vireo expose vm NAME ...`. */
export async function exposeCommand(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind === "--help" || kind === "-h" || rest.includes("--help") || rest.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  if (kind !== "vm") {
    console.error(
      `vireo expose: only "vm" can be exposed; got ${kind === undefined ? "nothing" : `"${kind}"`}\n\n${HELP}`,
    );
    return 2;
  }
  try {
    const { vm, values } = parseExposeArgs(rest);
    const target = loadTarget(values);
    const svc = buildService({
      vm,
      namespace: target.namespace,
      port: values.port,
      targetPort: values["target-port"],
      name: values.name,
      type: values.type,
      protocol: values.protocol,
    });
    const client = new VmClient(target.kubeConfig);
    await client.getVm(target.namespace, vm);
    await createService(client, target.namespace, svc);
    const p = svc.spec!.ports![0]!;
    console.log(
      `service/${svc.metadata!.name!} created: ${svc.spec!.type} port ${p.port} → VM ${vm} port ${String(p.targetPort)}/${p.protocol}`,
    );
    return 0;
  } catch (err) {
    return exitFor(err);
  }
}

/** The VM's name and the options; throws ExposeError or parseArgs' TypeError on bad usage. */
function parseExposeArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: "string" },
      "target-port": { type: "string" },
      name: { type: "string" },
      type: { type: "string" },
      protocol: { type: "string" },
      namespace: { type: "string", short: "n" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
    },
  });
  if (positionals.length !== 1)
    throw new ExposeError(
      "NAME",
      `vireo expose vm takes one VM name; got ${positionals.join(" ") || "none"}`,
    );
  return { vm: positionals[0]!, values };
}

/** Creates the Service; one that already exists is a usage problem the user fixes with --name. */
async function createService(
  client: VmClient,
  namespace: string,
  svc: ReturnType<typeof buildService>,
): Promise<void> {
  const name = svc.metadata!.name!;
  const services = resourcePath({ version: "v1", plural: "services" }, namespace);
  try {
    await client.request(`create Service ${name} in namespace ${namespace}`, "POST", services, {
      body: svc,
      query: { fieldManager: FIELD_MANAGER },
    });
  } catch (err) {
    if (err instanceof ClusterCliError && isApiStatus(err.cause, 409))
      throw new ClusterCliError(
        "API",
        `a Service ${name} already exists in namespace ${namespace}; pick another with --name`,
        { cause: err.cause },
      );
    throw err;
  }
}

/** The exit status for a failure (2 usage, 1 otherwise), after saying what went wrong; rethrows the unknown. */
function exitFor(err: unknown): number {
  if (err instanceof ExposeError) {
    console.error(`vireo expose vm: ${err.message}`);
    return 2;
  }
  if (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS")) {
    console.error(`vireo expose vm: ${err.message}\n\n${HELP}`);
    return 2;
  }
  if (err instanceof ClusterCliError) {
    console.error(`vireo expose vm: ${err.message}`);
    return err.code === "USAGE" ? 2 : 1;
  }
  throw err;
}
