/**
 * Shell completion for `vireo` and `kubectl vireo`, in cobra's `__complete` protocol (what kubectl ≥ 1.26
 * asks a plugin's `kubectl_complete-<name>` executable for): one candidate per line, optionally
 * "candidate<TAB>description", then a line ":<directive>". The shell scripts of `vireo completion` speak
 * the same protocol, so there is one completer. Pure: the cluster lookups are injected.
 */

/** cobra's ShellCompDirective bits. */
export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
} as const;

/** What a completion needs from outside: VM, namespace and context names (errors mean "none"). */
export interface CompletionSources {
  vms(namespace: string | undefined, context: string | undefined): Promise<string[]>;
  namespaces(context: string | undefined): Promise<string[]>;
  contexts(): Promise<string[]>;
}

/** The answer: candidates (with optional descriptions after a tab) and a directive. */
export interface Completion {
  candidates: string[];
  directive: number;
}

/** Commands, with the one-line descriptions shells show. */
export const COMMANDS: Record<string, string> = {
  validate: "check VirtualMachine manifests offline",
  run: "run a VirtualMachine on this host",
  start: "start a VM",
  stop: "stop a VM (runStrategy Halted)",
  restart: "restart a running VM",
  pause: "pause a running guest",
  unpause: "resume a paused guest",
  console: "attach to a VM's serial console",
  vnc: "forward a VM's VNC display to localhost",
  status: "show VM status",
  doctor: "check an install",
  version: "client, Kubernetes and operator versions",
  completion: "shell completion script: bash, zsh or fish",
  create: "print a VirtualMachine manifest from flags (create vm NAME)",
  expose: "create a Service for a VM's port (expose vm NAME)",
  "soft-reboot": "ask the guest OS to reboot itself (guest agent)",
  guestosinfo: "the guest OS as its guest agent reports it",
  userlist: "users logged in to the guest (guest agent)",
  fslist: "the guest's filesystems (guest agent)",
  "port-forward": "forward local ports to a VM's launcher pod",
  ssh: "ssh to a VM's guest through the API server",
  scp: "scp to or from a VM's guest through the API server",
  "image-upload": "stream a local disk image into a DataVolume (image-upload dv/NAME)",
};

const VM_COMMANDS = new Set([
  "start",
  "stop",
  "restart",
  "pause",
  "unpause",
  "console",
  "vnc",
  "status",
  "soft-reboot",
  "guestosinfo",
  "userlist",
  "fslist",
  "port-forward",
  "ssh",
]);
/** Commands whose first word is a kind (only "vm"); expose then takes a VM name. */
const KIND_COMMANDS = new Set(["create", "expose"]);
const CREATE_FLAGS = [
  "--namespace",
  "-n",
  "--memory",
  "--cpu",
  "--run-strategy",
  "--volume-containerdisk",
  "--volume-pvc",
  "--volume-blank",
  "--user-data-file",
  "--ssh-key",
  "--help",
  "-h",
];
const EXPOSE_FLAGS = ["--port", "--target-port", "--name", "--type", "--protocol"];
const CONNECTION = ["--namespace", "-n", "--kubeconfig", "--context", "--help", "-h"];
const FLAGS: Record<string, string[]> = {
  start: [...CONNECTION, "--wait", "--timeout"],
  stop: [...CONNECTION, "--wait", "--timeout"],
  restart: [...CONNECTION, "--wait", "--timeout"],
  pause: CONNECTION,
  unpause: CONNECTION,
  console: CONNECTION,
  vnc: [...CONNECTION, "--port", "--address"],
  status: [...CONNECTION, "--all-namespaces", "-A", "--output", "-o"],
  doctor: [...CONNECTION, "--operator-namespace", "--operator-deployment", "--timeout", "--skip-vm"],
  version: ["--client", "--output", "-o", "--kubeconfig", "--context", "--help", "-h"],
  validate: ["--quiet", "-q", "--help", "-h"],
  run: ["--help", "-h"],
  completion: ["--help", "-h"],
  create: CREATE_FLAGS,
  expose: [...CONNECTION, ...EXPOSE_FLAGS],
  "soft-reboot": CONNECTION,
  guestosinfo: CONNECTION,
  userlist: CONNECTION,
  fslist: CONNECTION,
  "port-forward": [...CONNECTION, "--stdio", "--address"],
  ssh: [...CONNECTION, "--identity", "-i"],
  scp: [...CONNECTION, "--identity", "-i"],
  "image-upload": [
    ...CONNECTION,
    "--image-path",
    "--size",
    "--storage-class",
    "--volume-mode",
    "--wait",
    "--timeout",
  ],
};
/** Flags that take a value (the next word is that value, not a positional). */
const VALUE_FLAGS = new Set([
  "--image-path",
  "--size",
  "--storage-class",
  "--volume-mode",
  "--namespace",
  "-n",
  "--kubeconfig",
  "--context",
  "--output",
  "-o",
  "--port",
  "--address",
  "--identity",
  "-i",
  "--operator-namespace",
  "--operator-deployment",
  "--timeout",
  "--memory",
  "--cpu",
  "--run-strategy",
  "--volume-containerdisk",
  "--volume-pvc",
  "--volume-blank",
  "--user-data-file",
  "--ssh-key",
  "--target-port",
  "--name",
  "--type",
  "--protocol",
]);

/** Fixed choices for some flag values. */
const CHOICES: Record<string, string[]> = {
  "--run-strategy": ["Always", "RerunOnFailure", "Once", "Manual", "Halted"],
  "--type": ["ClusterIP", "NodePort", "LoadBalancer"],
  "--protocol": ["TCP", "UDP", "SCTP"],
};

const none = (candidates: string[] = []): Completion => ({ candidates, directive: Directive.NoFileComp });

/** The value of `flag` among words (`--flag v`, `--flag=v`, `-n v`), if given. */
function flagValue(words: string[], long: string, short?: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith(`${long}=`)) return w.slice(long.length + 1);
    if ((w === long || (short !== undefined && w === short)) && i + 1 < words.length) return words[i + 1];
  }
  return undefined;
}

/** Positional words (not flags, not flag values). */
function positionals(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith("-")) {
      if (VALUE_FLAGS.has(w)) i++;
      continue;
    }
    out.push(w);
  }
  return out;
}

const startsWith = (prefix: string) => (c: string) => c.startsWith(prefix);

/**
 * Completes `vireo <words...>`, where the last word is the one being completed ("" for a new word).
 * Never throws: a lookup that fails completes nothing.
 */
export async function complete(words: string[], sources: CompletionSources): Promise<Completion> {
  const cur = words.at(-1) ?? "";
  const done = words.slice(0, -1);
  if (done.length === 0)
    return none(
      Object.entries(COMMANDS)
        .filter(([c]) => c.startsWith(cur))
        .map(([c, d]) => `${c}\t${d}`),
    );
  const [command, ...rest] = done as [string, ...string[]];
  const prev = done.at(-1)!;
  const context = flagValue(rest, "--context");
  const safe = async (f: () => Promise<string[]>) => f().catch(() => [] as string[]);
  if (prev === "--namespace" || prev === "-n" || prev === "--operator-namespace")
    return none((await safe(() => sources.namespaces(context))).filter(startsWith(cur)));
  if (prev === "--context") return none((await safe(() => sources.contexts())).filter(startsWith(cur)));
  if (prev === "--kubeconfig") return { candidates: [], directive: Directive.Default };
  if (prev === "--output" || prev === "-o")
    return none(
      (command === "version" ? ["json"] : ["table", "wide", "yaml", "json"]).filter(startsWith(cur)),
    );
  if (prev === "--user-data-file") return { candidates: [], directive: Directive.Default };
  const choices = CHOICES[prev];
  if (choices) return none(choices.filter(startsWith(cur)));
  if (VALUE_FLAGS.has(prev)) return none();
  if (cur.startsWith("-")) return none((FLAGS[command] ?? []).filter(startsWith(cur)));
  const args = positionals(rest);
  if (command === "completion")
    return none(args.length === 0 ? ["bash", "zsh", "fish"].filter(startsWith(cur)) : []);
  if (KIND_COMMANDS.has(command)) {
    if (args.length === 0) return none(["vm"].filter(startsWith(cur)));
    if (command === "expose" && args.length === 1) {
      const namespace = flagValue(rest, "--namespace", "-n");
      return none((await safe(() => sources.vms(namespace, context))).filter(startsWith(cur)).sort());
    }
    return none();
  }
  if (command === "validate" || command === "run")
    return { candidates: ["yaml", "yml"], directive: Directive.FilterFileExt };
  if (VM_COMMANDS.has(command) && args.length === 0) {
    if (command === "status" && (rest.includes("-A") || rest.includes("--all-namespaces"))) return none();
    const namespace = flagValue(rest, "--namespace", "-n");
    return none((await safe(() => sources.vms(namespace, context))).filter(startsWith(cur)).sort());
  }
  return none();
}

/** The protocol's text: candidates, then ":<directive>". */
export function formatCompletion(c: Completion): string {
  return [...c.candidates, `:${c.directive}`].join("\n") + "\n";
}
