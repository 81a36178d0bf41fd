/** Flags of the cluster commands, kubectl-style (`-n`, `--namespace=`, `--kubeconfig`, `--context`). Pure. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { ClusterCliError } from "./errors.ts";
import { parseDuration } from "./wait-plan.ts";

/** The cluster commands. */
export const CLUSTER_COMMANDS = [
  "start",
  "stop",
  "restart",
  "pause",
  "unpause",
  "console",
  "vnc",
  "status",
] as const;

/** One of the cluster commands. */
export type ClusterCommandName = (typeof CLUSTER_COMMANDS)[number];

const common = {
  namespace: { type: "string", short: "n" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const extra = {
  status: { "all-namespaces": { type: "boolean", short: "A" }, output: { type: "string", short: "o" } },
  vnc: { port: { type: "string" }, address: { type: "string" } },
  lifecycle: { wait: { type: "boolean" }, timeout: { type: "string" } },
} as const;

const LIFECYCLE: readonly ClusterCommandName[] = ["start", "stop", "restart"];
const WAIT_HELP = `      --wait                wait until the VM is {goal}; progress on stderr, exit 1 with the reason on failure
      --timeout DURATION    how long --wait waits (default 5m; e.g. 90s, 2m30s)`;

const SUMMARY: Record<ClusterCommandName, string> = {
  start:
    "start VM           start a VM: back to the runStrategy `vireo stop` replaced (else Always), or a start request",
  stop: "stop VM            stop a VM: runStrategy Halted (the guest gets an ACPI shutdown)",
  restart:
    "restart VM         restart a running VM: annotation vireo.dev/restartedAt, the operator replaces the pod",
  pause: "pause VM           pause a running guest's vCPUs (pods/exec: vireo-launcher pause)",
  unpause: "unpause VM         resume a paused guest (pods/exec: vireo-launcher unpause)",
  console: "console VM         attach to the serial console (pods/exec); Ctrl-] detaches",
  vnc: "vnc VM             forward the VM's VNC display to a local port (port-forward)",
  status: "status [VM]        list VMs like kubectl get, or show one VM in detail",
};

const EXTRA_HELP: Partial<Record<ClusterCommandName, string>> = {
  status: `  -A, --all-namespaces      list VMs in every namespace
  -o, --output FORMAT       table (default) | wide | yaml | json`,
  vnc: `      --port PORT           local port to listen on (default: any free port)
      --address ADDR        local address to listen on (default 127.0.0.1)`,
  start: WAIT_HELP.replace("{goal}", "Running with a ready guest (GuestReady)"),
  stop: WAIT_HELP.replace("{goal}", "Stopped"),
  restart: WAIT_HELP.replace("{goal}", "Running with a ready guest in the new pod"),
};

/** Help text of one command. */
export function commandUsage(name: ClusterCommandName): string {
  const more = EXTRA_HELP[name];
  return `usage: vireo ${SUMMARY[name]}

Options:
  -n, --namespace NS        namespace (default: the kubeconfig context's, else "default")
      --kubeconfig FILE     kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context NAME        kubeconfig context (default: the current context)
${more ? `${more}\n` : ""}  -h, --help                this help

Also usable as a kubectl plugin: kubectl vireo ${name} ...`;
}

/** Parsed flags of a cluster command. */
export interface ClusterArgs {
  command: ClusterCommandName;
  help: boolean;
  /** The VM name (required except for `status`). */
  vm: string | undefined;
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  allNamespaces: boolean;
  output: "table" | "wide" | "yaml" | "json";
  /** vnc: local port (0: any free one) and address. */
  port: number;
  address: string;
  /** start/stop/restart: wait for the outcome, at most timeoutMs. */
  wait: boolean;
  timeoutMs: number;
}

const vmName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "is not a valid VirtualMachine name (a DNS-1123 label)")
  .max(63, "is longer than 63 characters");

/** Parses argv of `vireo <command> ...`; throws ClusterCliError USAGE with the command's help. */
export function parseClusterArgs(command: ClusterCommandName, argv: readonly string[]): ClusterArgs {
  const usage = (msg: string, cause?: unknown) =>
    new ClusterCliError("USAGE", `${msg}\n\n${commandUsage(command)}`, { cause });
  let parsed: {
    values: Record<string, string | boolean | (string | boolean)[] | undefined>;
    positionals: string[];
  };
  try {
    const options: NonNullable<ParseArgsConfig["options"]> = {
      ...common,
      ...(command === "status"
        ? extra.status
        : command === "vnc"
          ? extra.vnc
          : LIFECYCLE.includes(command)
            ? extra.lifecycle
            : {}),
    };
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw usage((cause as Error).message, cause);
  }
  const v = parsed.values;
  const help = v["help"] === true;
  const [vm, ...rest] = parsed.positionals;
  if (!help) {
    if (rest.length > 0)
      throw usage(`vireo ${command} takes one VM name; got ${parsed.positionals.join(" ")}`);
    if (vm === undefined && command !== "status") throw usage(`vireo ${command} needs a VM name`);
    if (vm !== undefined) {
      const ok = vmName.safeParse(vm);
      if (!ok.success) throw usage(`"${vm}" ${ok.error.issues[0]?.message ?? "is not a valid name"}`);
    }
  }
  const output = (v["output"] as string | undefined) ?? "table";
  if (!["table", "wide", "yaml", "json"].includes(output))
    throw usage(`--output must be table, wide, yaml or json; got "${output}"`);
  const portText = (v["port"] as string | undefined) ?? "0";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw usage(`--port must be a port number (0-65535); got "${portText}"`);
  const timeoutText = v["timeout"] as string | undefined;
  const timeoutMs = timeoutText === undefined ? 300_000 : parseDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs <= 0)
    throw usage(`--timeout must be a duration such as 90s, 5m or 1m30s; got "${timeoutText}"`);
  if (timeoutText !== undefined && v["wait"] !== true) throw usage("--timeout needs --wait");
  if (v["all-namespaces"] === true && vm !== undefined)
    throw usage("--all-namespaces lists VMs; to show one VM give its namespace with -n");
  return {
    command,
    help,
    vm,
    namespace: v["namespace"] as string | undefined,
    kubeconfig: v["kubeconfig"] as string | undefined,
    context: v["context"] as string | undefined,
    allNamespaces: v["all-namespaces"] === true,
    output: output as ClusterArgs["output"],
    port,
    address: (v["address"] as string | undefined) ?? "127.0.0.1",
    wait: v["wait"] === true,
    timeoutMs,
  };
}
