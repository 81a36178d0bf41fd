/**
 * The cluster commands of `vireo` (and `kubectl vireo`): start, stop, restart, pause, unpause, console, vnc,
 * status. Each parses its flags, resolves kubeconfig/context/namespace like kubectl, runs, and returns an exit
 * code: 0 done, 1 failed (the message says what to do), 2 bad usage.
 */
import {
  CLUSTER_COMMANDS,
  type ClusterArgs,
  type ClusterCommandName,
  commandUsage,
  parseClusterArgs,
} from "./cluster/args.ts";
import { attachConsole } from "./cluster/console.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { pauseOrUnpause } from "./cluster/guest.ts";
import { loadTarget, VmClient } from "./cluster/kube.ts";
import { changeRunStateFor } from "./cluster/lifecycle.ts";
import { waitFor } from "./cluster/wait.ts";
import { vmStatus } from "./cluster/status.ts";
import { startVncProxy } from "./cluster/vnc.ts";

/** Runs `vireo <name> <argv...>` for a cluster command and returns the process exit code. */
export async function clusterCommand(name: string, argv: string[]): Promise<number> {
  if (!(CLUSTER_COMMANDS as readonly string[]).includes(name)) {
    console.error(`vireo: unknown cluster command "${name}"`);
    return 2;
  }
  const command = name as ClusterCommandName;
  try {
    const args = parseClusterArgs(command, argv);
    if (args.help) {
      console.log(commandUsage(command));
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

async function run(args: ClusterArgs): Promise<number> {
  const target = loadTarget(args);
  const kc = target.kubeConfig;
  const client = new VmClient(kc);
  const ns = target.namespace;
  const vm = args.vm as string; // present for every command but status (checked by parseClusterArgs)
  switch (args.command) {
    case "start":
    case "stop":
    case "restart": {
      const change = await changeRunStateFor(client, args.command, ns, vm);
      console.log(change.message);
      if (!args.wait) return 0;
      const goal = args.command === "stop" ? "stopped" : "running";
      console.log(
        await waitFor(client, ns, vm, goal, change.gate, {
          timeoutMs: args.timeoutMs,
          progress: { isTTY: process.stderr.isTTY === true, write: (t) => process.stderr.write(t) },
        }),
      );
      return 0;
    }
    case "pause":
    case "unpause":
      console.log(await pauseOrUnpause(kc, client, args.command, ns, vm));
      return 0;
    case "console":
      return attachConsole(kc, client, ns, vm);
    case "vnc":
      return serveVnc(args, ns, vm, kc, client);
    case "status": {
      const { out, note } = await vmStatus(client, args, ns);
      if (out) console.log(out);
      if (note) console.error(note);
      return 0;
    }
  }
}

async function serveVnc(
  args: ClusterArgs,
  ns: string,
  vm: string,
  kc: ReturnType<typeof loadTarget>["kubeConfig"],
  client: VmClient,
): Promise<number> {
  const proxy = await startVncProxy(kc, client, ns, vm, { address: args.address, port: args.port }, (m) =>
    console.error(`vireo vnc: ${m}`),
  );
  console.log(
    `VNC of VM ${vm} (pod ${proxy.pod}) on ${proxy.address}:${proxy.port}; point a VNC viewer there (e.g. vncviewer ${proxy.address}::${proxy.port}). Ctrl-C stops.`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await proxy.close();
  return 0;
}
