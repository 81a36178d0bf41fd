/**
 * `vireo guestosinfo|userlist|fslist|soft-reboot VM` (pods/exec: `vireo-launcher agent|soft-reboot`),
 * `vireo port-forward VM PORTS` (port-forward to the launcher pod), `vireo ssh` and `vireo scp` (the user's
 * own clients with a ProxyCommand of `vireo port-forward --stdio`). Exit 0 done, 1 failed, 2 usage.
 */
import { spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import { type KubeConfig, PortForward } from "@kubernetes/client-node";
import { agentReportSchema, type AgentReport } from "../../crds/contract/index.ts";
import { ClusterCliError } from "../cluster/errors.ts";
import { loadTarget, VmClient } from "../cluster/kube.ts";
import { runLauncher, runningLauncherPod } from "../cluster/launcher-exec.ts";
import { GUEST_COMMANDS, type GuestArgs, type GuestCommandName, parseGuestArgs } from "./args.ts";
import { scpArgv, sshArgv, type SshPlanInputs } from "./ssh-plan.ts";

const USAGE: Record<GuestCommandName, string> = {
  guestosinfo:
    "vireo guestosinfo VM        the guest OS, hostname, timezone as its guest agent reports (JSON)",
  userlist: "vireo userlist VM           users logged in to the guest (guest agent, JSON)",
  fslist: "vireo fslist VM             the guest's mounted filesystems (guest agent, JSON)",
  "soft-reboot":
    "vireo soft-reboot VM        ask the guest OS to reboot itself (guest agent's guest-shutdown)",
  "port-forward":
    "vireo port-forward VM [--address A] LOCAL:REMOTE...   forward local ports to the VM's launcher pod\n       vireo port-forward --stdio VM PORT                      one connection on stdin/stdout (ssh ProxyCommand)",
  ssh: "vireo ssh [-i KEY] [user@]VM [-- SSH ARGS...]   your ssh, through the API server (port-forward to port 22)",
  scp: "vireo scp [-i KEY] SRC... DEST   your scp; the VM operand is [user@]VM:path",
};

function usage(c: GuestCommandName): string {
  return `usage: ${USAGE[c]}

Options:
  -n, --namespace NS        namespace (default: the kubeconfig context's, else "default")
      --kubeconfig FILE     kubeconfig file
      --context NAME        kubeconfig context
  -h, --help                this help

Port-forward reaches the launcher pod's 127.0.0.1: with the passt binding (and the masquerade binding
where the launcher forwards loopback) that is the guest; with the bridge binding the guest owns the pod
IP and a port-forward needs the launcher's splice (docs/guest-agent.md).`;
}

/** Runs one guest access command; returns the exit code. */
export async function guestCommand(name: string, argv: string[]): Promise<number> {
  const command = name as GuestCommandName;
  if (!(GUEST_COMMANDS as readonly string[]).includes(name)) return 2;
  try {
    const args = parseGuestArgs(command, argv, usage(command));
    if (args.help) {
      console.log(usage(command));
      return 0;
    }
    return await run(args);
  } catch (err) {
    if (err instanceof ClusterCliError) {
      console.error(`vireo ${command}: ${err.message}`);
      return err.code === "USAGE" ? 2 : 1;
    }
    throw err;
  }
}

async function run(args: GuestArgs): Promise<number> {
  const target = loadTarget(args);
  const kc = target.kubeConfig;
  const ns = target.namespace;
  const client = new VmClient(kc);
  switch (args.command) {
    case "guestosinfo":
    case "userlist":
    case "fslist": {
      const r = await agentReport(kc, client, ns, args.vm);
      const i = r.info;
      const out =
        args.command === "userlist"
          ? (i.users ?? [])
          : args.command === "fslist"
            ? (i.filesystems ?? [])
            : {
                ...i.osInfo,
                hostname: i.hostname,
                timezone: i.timezone,
                agentVersion: i.agentVersion,
              };
      console.log(JSON.stringify(out, null, 2));
      return 0;
    }
    case "soft-reboot": {
      const pod = await runningLauncherPod(client, await client.getVm(ns, args.vm));
      await runLauncher(kc, pod, ["soft-reboot"], {
        stdin: null,
        stdout: new PassThrough(),
        stderr: process.stderr,
      });
      console.log(`VM ${args.vm}: the guest was asked to reboot (guest agent)`);
      return 0;
    }
    case "port-forward":
      return portForward(kc, client, ns, args);
    case "ssh":
    case "scp":
      return sshOrScp(args, ns);
  }
}

/** The launcher's `agent` report; fails with the agent's reason when it has never answered. */
async function agentReport(kc: KubeConfig, client: VmClient, ns: string, vm: string): Promise<AgentReport> {
  const pod = await runningLauncherPod(client, await client.getVm(ns, vm));
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await runLauncher(kc, pod, ["agent"], { stdin: null, stdout: out, stderr: process.stderr });
  const parsed = agentReportSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
  if (!parsed.success)
    throw new ClusterCliError(
      "LAUNCHER_FAILED",
      `the launcher's agent report is not one: ${parsed.error.message}`,
    );
  const r = parsed.data;
  if (!r.connected && !r.updatedAt)
    throw new ClusterCliError(
      "LAUNCHER_FAILED",
      `VM ${vm}'s guest agent is not connected (${r.reason}: ${r.message}); is qemu-guest-agent installed and running in the guest?`,
    );
  if (!r.connected)
    console.error(`vireo: the guest agent is not connected now (${r.reason}); last report ${r.updatedAt}`);
  return r;
}

async function portForward(kc: KubeConfig, client: VmClient, ns: string, args: GuestArgs): Promise<number> {
  const pod = await runningLauncherPod(client, await client.getVm(ns, args.vm));
  const podName = pod.metadata?.name ?? "";
  const pf = new PortForward(kc);
  if (args.stdio) {
    const ws = await pf.portForward(
      ns,
      podName,
      [args.ports[0]!.remote],
      process.stdout,
      process.stderr,
      process.stdin,
    );
    if (typeof ws === "function") return 1;
    await new Promise<void>((resolve) => ws.on("close", () => resolve()));
    return 0;
  }
  const servers = await Promise.all(
    args.ports.map(
      ({ local, remote }) =>
        new Promise<{ close: () => void }>((resolve, reject) => {
          const sockets = new Set<Socket>();
          const server = createServer((socket) => {
            sockets.add(socket);
            socket.once("close", () => sockets.delete(socket));
            socket.on("error", () => socket.destroy());
            pf.portForward(ns, podName, [remote], socket, null, socket)
              .then((ws) => {
                if (typeof ws === "function") return;
                ws.on("close", () => socket.end());
                socket.once("close", () => ws.close());
              })
              .catch((err: unknown) => {
                console.error(
                  `vireo port-forward: to pod ${podName} port ${remote}: ${(err as Error).message}`,
                );
                socket.destroy();
              });
          });
          server.once("error", (err) =>
            reject(new ClusterCliError("USAGE", `cannot listen on ${args.address}:${local}: ${err.message}`)),
          );
          server.listen(local, args.address, () => {
            const a = server.address();
            const port = typeof a === "object" && a ? a.port : local;
            console.log(
              `Forwarding from ${args.address}:${port} -> ${args.vm} (pod ${podName}) port ${remote}`,
            );
            resolve({
              close: () => {
                for (const s of sockets) s.destroy();
                server.close();
              },
            });
          });
        }),
    ),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  for (const s of servers) s.close();
  return 0;
}

/** Runs the user's ssh or scp with the proxy options; returns its exit code. */
async function sshOrScp(args: GuestArgs, ns: string): Promise<number> {
  const plan: SshPlanInputs = {
    self: [process.execPath, ...process.execArgv, process.argv[1] ?? "vireo"],
    namespace: ns,
    vm: args.vm,
    user: args.user,
    identity: args.identity,
    kubeconfig: args.kubeconfig,
    context: args.context,
  };
  const [bin, argv] =
    args.command === "ssh" ? ["ssh", sshArgv(plan, args.rest)] : ["scp", scpArgv(plan, args.rest)];
  return new Promise<number>((resolve) => {
    const child = spawn(bin, argv, { stdio: "inherit" });
    child.once("error", (err) => {
      console.error(`vireo ${args.command}: cannot run ${bin}: ${err.message} (install openssh-client)`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
