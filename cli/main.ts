/**
 * `vireo` — the command-line entry (also `kubectl vireo`). Each subcommand lives in its own module and
 * returns an exit code; nothing here decides anything.
 */
const USAGE = `usage: vireo <command> [options]

Commands:
  validate FILE...      check VirtualMachine manifests offline (multi-document YAML; - for stdin)
  expand VM | -f FILE   a VM as it runs: its instancetype and preference applied (cluster, or offline)
  run FILE              run a VirtualMachine on this host (standalone mode, the demo)
  start|stop|restart VM change a VM's run state in the cluster (declaratively, like GitOps would)
  pause|unpause VM      pause or resume a running guest (through pods/exec)
  console VM            attach to a VM's serial console (through pods/exec)
  vnc VM                forward a VM's VNC display to localhost (through port-forward)
  status [VM]           show VM status
  migrate VM            live-migrate a running VM to another node (--to-node N; --cancel)
  create vm NAME        print a VirtualMachine manifest from flags (offline; pipe to kubectl apply -f -)
  expose vm NAME        create a Service for a VM's port (selects its launcher pod)
  image-upload dv/NAME  stream a local disk image into a DataVolume (through port-forward)
  soft-reboot VM        ask the guest OS to reboot itself (guest agent)
  guestosinfo|userlist|fslist VM   what the guest agent reports (JSON)
  port-forward VM PORTS forward local ports to the VM's launcher pod (--stdio for ssh ProxyCommand)
  ssh [user@]VM         your ssh to the guest through the API server; scp likewise ([user@]VM:path)
  doctor                check an install: CRD, operator, a halted VM accepted and reconciled
  version               client, Kubernetes and operator versions
  completion SHELL      shell completion script: bash, zsh or fish
Run 'vireo <command> --help' for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  validate: async () => (await import("./validate.ts")).validateCommand,
  expand: async () => (await import("./expand.ts")).expandCommand,
  run: async () => (await import("./run.ts")).runCommand,
  doctor: async () => (await import("./doctor.ts")).doctorCommand,
  version: async () => (await import("./version.ts")).versionCommand,
  completion: async () => (await import("./completion.ts")).completionCommand,
  create: async () => (await import("./create.ts")).createCommand,
  expose: async () => (await import("./expose.ts")).exposeCommand,
  migrate: async () => (await import("./migrate.ts")).migrateCommand,
  ...Object.fromEntries(
    ["soft-reboot", "guestosinfo", "userlist", "fslist", "port-forward", "ssh", "scp"].map((name) => [
      name,
      async () => {
        const { guestCommand } = await import("./guest/commands.ts");
        return (argv: string[]) => guestCommand(name, argv);
      },
    ]),
  ),
  "image-upload": async () => (await import("./image-upload.ts")).imageUploadCommand,
  __complete: async () => (await import("./completion.ts")).completeCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name] ?? (await clusterCommand(name));
  if (!load) {
    console.error(`vireo: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

/** Cluster commands are loaded lazily so `validate` starts fast. */
async function clusterCommand(name: string): Promise<(() => Promise<Command>) | undefined> {
  const cluster = ["start", "stop", "restart", "pause", "unpause", "console", "vnc", "status"];
  if (!cluster.includes(name)) return undefined;
  return async () => {
    const mod = await import("./cluster.ts");
    return (argv: string[]) => mod.clusterCommand(name, argv);
  };
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`vireo: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
