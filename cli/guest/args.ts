/**
 * Flags of the guest access commands: `guestosinfo|userlist|fslist|soft-reboot VM`, `port-forward VM
 * [--stdio] [--address A] LOCAL:REMOTE…`, `ssh [user@]VM [-- SSH ARGS]`, `scp SRC… DEST` with `[user@]VM:path`.
 * kubectl-style -n/--kubeconfig/--context as the cluster commands. Pure.
 */
import { parseArgs } from "node:util";
import { ClusterCliError } from "../cluster/errors.ts";

/** The guest access commands. */
export const GUEST_COMMANDS = [
  "guestosinfo",
  "userlist",
  "fslist",
  "soft-reboot",
  "port-forward",
  "ssh",
  "scp",
] as const;

/** One of them. */
export type GuestCommandName = (typeof GUEST_COMMANDS)[number];

/** One forwarded port: local (0 = any free one) to the launcher pod's port. */
export interface PortPair {
  local: number;
  remote: number;
}

/** Parsed flags. */
export interface GuestArgs {
  command: GuestCommandName;
  help: boolean;
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  /** The VM (for scp: the VM of the remote operand). */
  vm: string;
  /** ssh/scp: the guest user, if given. */
  user: string | undefined;
  /** port-forward. */
  ports: PortPair[];
  stdio: boolean;
  address: string;
  /** ssh: extra arguments for ssh (after --); scp: the operands as given. */
  rest: string[];
  /** ssh/scp: -i IDENTITY. */
  identity: string | undefined;
}

const VM_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A local port, a remote port, or LOCAL:REMOTE (as kubectl port-forward). */
export function parsePortPair(text: string): PortPair | undefined {
  const m = /^(?:(\d*):)?(\d+)$/.exec(text);
  if (!m) return undefined;
  const remote = Number(m[2]);
  // "8080" forwards 8080 to 8080; ":80" picks a free local port, as kubectl port-forward does.
  const local = m[1] === undefined ? remote : m[1] === "" ? 0 : Number(m[1]);
  if (!(remote >= 1 && remote <= 65535) || !(local >= 0 && local <= 65535)) return undefined;
  return { local, remote };
}

/** `[user@]vm` → its parts, or undefined when the VM part is not a valid name. */
export function parseUserAtVm(text: string): { user: string | undefined; vm: string } | undefined {
  const at = text.lastIndexOf("@");
  const user = at >= 0 ? text.slice(0, at) : undefined;
  const vm = at >= 0 ? text.slice(at + 1) : text;
  if (!VM_NAME.test(vm) || vm.length > 63 || user === "") return undefined;
  return { user, vm };
}

/** The remote operand of scp (`[user@]VM:path`), if `text` is one. */
export function scpRemote(text: string): { user: string | undefined; vm: string; path: string } | undefined {
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const target = parseUserAtVm(text.slice(0, colon));
  return target ? { ...target, path: text.slice(colon + 1) } : undefined;
}

/** Parses `vireo <command> argv…`; throws ClusterCliError USAGE. */
export function parseGuestArgs(command: GuestCommandName, argv: readonly string[], usage: string): GuestArgs {
  const fail = (msg: string, cause?: unknown) =>
    new ClusterCliError("USAGE", `${msg}\n\n${usage}`, { cause });
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        namespace: { type: "string", short: "n" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        help: { type: "boolean", short: "h" },
        stdio: { type: "boolean" },
        address: { type: "string" },
        identity: { type: "string", short: "i" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw fail((cause as Error).message, cause);
  }
  const v = parsed.values;
  const base = {
    command,
    help: v.help === true,
    namespace: v.namespace,
    kubeconfig: v.kubeconfig,
    context: v.context,
    stdio: v.stdio === true,
    address: v.address ?? "127.0.0.1",
    identity: v.identity,
    user: undefined as string | undefined,
    ports: [] as PortPair[],
    rest: [] as string[],
  };
  if (base.help) return { ...base, vm: "" };
  const pos = parsed.positionals;
  if (command === "scp") {
    const remotes = pos.map(scpRemote).filter((r) => r !== undefined);
    const vms = new Set(remotes.map((r) => r.vm));
    if (pos.length < 2 || vms.size !== 1)
      throw fail("vireo scp needs sources and a destination, with exactly one VM operand as [user@]VM:path");
    return { ...base, vm: [...vms][0]!, user: remotes[0]!.user, rest: pos };
  }
  const [first, ...more] = pos;
  if (first === undefined) throw fail(`vireo ${command} needs a VM name`);
  const target = parseUserAtVm(first);
  if (!target) throw fail(`"${first}" is not [user@]VM with a valid VM name (a DNS-1123 label)`);
  if (command === "ssh") return { ...base, vm: target.vm, user: target.user, rest: more };
  if (target.user !== undefined) throw fail(`vireo ${command} takes a VM name, not user@VM`);
  if (command !== "port-forward") {
    if (more.length) throw fail(`vireo ${command} takes one VM name`);
    return { ...base, vm: target.vm };
  }
  const ports = more.map((p) => ({ text: p, pair: parsePortPair(p) }));
  const bad = ports.find((p) => !p.pair);
  if (bad) throw fail(`"${bad.text}" is not a port or LOCAL:REMOTE pair`);
  if (!ports.length) throw fail("vireo port-forward needs at least one port");
  if (base.stdio && ports.length !== 1) throw fail("--stdio forwards exactly one port");
  return { ...base, vm: target.vm, ports: ports.map((p) => p.pair!) };
}
