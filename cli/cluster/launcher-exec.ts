/**
 * Running `vireo-launcher <subcommand>` in a VM's launcher pod through pods/exec, so Kubernetes RBAC and
 * audit logging apply to pause, unpause and the console exactly as to `kubectl exec`.
 */
import type { Readable, Writable } from "node:stream";
import { Exec, type KubeConfig, type V1Pod, type V1Status } from "@kubernetes/client-node";
import { LAUNCHER_BIN, LAUNCHER_CONTAINER } from "../../crds/contract/index.ts";
import { ClusterCliError } from "./errors.ts";
import type { VmClient } from "./kube.ts";
import { stateOf, type VmView } from "./vm-view.ts";

/**
 * The running launcher pod of a VM, or NOT_RUNNING telling the user what to do: start a stopped VM, wait
 * for a starting one.
 */
export async function runningLauncherPod(client: VmClient, vm: VmView): Promise<V1Pod> {
  const name = vm.metadata.name;
  const namespace = vm.metadata.namespace ?? "default";
  const podName = vm.status?.launcherPod;
  const state = stateOf(vm);
  if (!podName) {
    if (vm.spec?.runStrategy === "Halted" || state === "Stopped" || state === "Succeeded")
      throw new ClusterCliError("NOT_RUNNING", `VM ${name} is ${state}; start it with vireo start ${name}`);
    throw new ClusterCliError(
      "NOT_RUNNING",
      `VM ${name} is ${state} and has no launcher pod yet; wait for Running (vireo status ${name})`,
    );
  }
  const pod = await client.getPod(namespace, podName);
  if (!pod) {
    throw new ClusterCliError(
      "NOT_RUNNING",
      `VM ${name}'s launcher pod ${podName} is gone (VM is ${state}); see vireo status ${name}`,
    );
  }
  if (pod.status?.phase !== "Running") {
    throw new ClusterCliError(
      "NOT_RUNNING",
      `VM ${name} is ${state}: its launcher pod ${podName} is ${pod.status?.phase ?? "Pending"}, not Running; wait, or see vireo status ${name}`,
    );
  }
  return pod;
}

/** The command's exit code from the exec status (0 on Success, the ExitCode cause otherwise). */
export function exitCodeOf(status: V1Status | undefined): number | undefined {
  if (status === undefined) return undefined;
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  return cause?.message !== undefined ? Number(cause.message) : undefined;
}

/** Standard streams of an exec session. */
export interface ExecIo {
  stdin: Readable | null;
  stdout: Writable;
  /** Ignored with `tty`: a terminal has one output stream. */
  stderr: Writable;
  /**
   * Run the command on a terminal. Interactive sessions need one: when the connection drops, the container
   * runtime hangs the terminal up and the remote process ends, where a plain pipe would leave it running.
   */
  tty?: boolean;
}

/** A started exec session: its exit code once it ends, and a way to end it early. */
export interface ExecSession {
  /** Resolves with the remote exit code when the session ends (undefined when it was cut off). */
  done: Promise<{ exitCode: number | undefined; status: V1Status | undefined }>;
  /** Closes the connection (detach). */
  close(): void;
}

/** Starts `vireo-launcher <args>` in the pod's launcher container. */
export async function execLauncher(
  kc: KubeConfig,
  pod: V1Pod,
  args: readonly string[],
  io: ExecIo,
): Promise<ExecSession> {
  const namespace = pod.metadata?.namespace ?? "default";
  const podName = pod.metadata?.name ?? "";
  let status: V1Status | undefined;
  let ws: Awaited<ReturnType<Exec["exec"]>>;
  try {
    ws = await new Exec(kc).exec(
      namespace,
      podName,
      LAUNCHER_CONTAINER,
      [LAUNCHER_BIN, ...args],
      io.stdout,
      io.tty ? null : io.stderr,
      io.stdin,
      io.tty ?? false,
      (s) => {
        status = s;
      },
    );
  } catch (err) {
    throw explainExecError(err, namespace, podName, args);
  }
  const done = new Promise<{ exitCode: number | undefined; status: V1Status | undefined }>((resolve) => {
    ws.on("close", () => resolve({ exitCode: exitCodeOf(status), status }));
  });
  return { done, close: () => ws.close() };
}

/** Runs `vireo-launcher <args>` to completion and fails with the remote message if it fails. */
export async function runLauncher(
  kc: KubeConfig,
  pod: V1Pod,
  args: readonly string[],
  io: ExecIo,
): Promise<void> {
  const session = await execLauncher(kc, pod, args, io);
  const { exitCode, status } = await session.done;
  if (exitCode === 0) return;
  const why =
    status?.message ??
    (exitCode === undefined ? "the connection closed before the command finished" : `exit code ${exitCode}`);
  throw new ClusterCliError(
    "LAUNCHER_FAILED",
    `${LAUNCHER_BIN} ${args.join(" ")} in pod ${pod.metadata?.name} failed: ${why}`,
  );
}

/** Words a failed exec upgrade: 403 means RBAC (pods/exec), anything else is passed on with the pod named. */
export function explainExecError(
  err: unknown,
  namespace: string,
  pod: string,
  args: readonly string[],
): ClusterCliError {
  const message = (err as Error)?.message ?? String(err);
  if (/\b403\b/.test(message)) {
    return new ClusterCliError(
      "FORBIDDEN",
      `exec into pod ${pod} in namespace ${namespace} is forbidden: this command needs "create" on pods/exec there. Ask your cluster admin for that permission.`,
      { cause: err },
    );
  }
  // The websocket library keeps the API server's explanation to itself; kubectl shows it.
  return new ClusterCliError(
    "API",
    `exec into pod ${pod} in namespace ${namespace} failed: ${message}. For the API server's full answer run: kubectl exec -n ${namespace} ${pod} -c ${LAUNCHER_CONTAINER} -- ${LAUNCHER_BIN} ${args.join(" ")}`,
    { cause: err },
  );
}
