/** What a test holds: a running control plane (local or external), and the part that differs between them. */
import type { KubeConfig } from "@kubernetes/client-node";
import type { CommandOptions, CommandResult } from "./commands.ts";
import type { Identity, ServiceAccountKubeconfigOptions } from "./kubeconfig.ts";

/** A running control plane (or an external cluster) and the ways to talk to it. */
export interface ControlPlane {
  /** Admin identity (system:masters) as a client-node KubeConfig. */
  readonly kubeConfig: KubeConfig;
  /** The same identity as a kubeconfig file for kubectl and helm. */
  readonly kubeconfigPath: string;
  /** API server URL. */
  readonly server: string;
  /** True when this is a developer's cluster from KUBECONFIG, not one the harness started. */
  readonly external: boolean;
  /** Working directory (certificates, etcd data, logs, caches); removed by stop(). */
  readonly dir: string;
  /** Log files of the components the harness started, by component name. */
  readonly logs: Readonly<Record<string, string>>;
  /** Process ids of the components the harness started, by component name. */
  readonly pids: Readonly<Record<string, number>>;
  /** Milliseconds from the call to a ready API server. */
  readonly startupMs: number;
  /** Throws ComponentExitedError if etcd or kube-apiserver has died since start. */
  checkAlive(): void;
  /** kubectl as admin. */
  kubectl(args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /** helm as admin. */
  helm(args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /** A kubeconfig acting as ServiceAccount namespace/name (created if missing), token from TokenRequest. */
  serviceAccountKubeconfig(
    namespace: string,
    name: string,
    options?: ServiceAccountKubeconfigOptions,
  ): Promise<Identity>;
  /** Stops the processes by pid (SIGTERM, then SIGKILL) and removes the working directory. */
  stop(): Promise<void>;
}

/** The parts of a ControlPlane that differ between a local and an external one. */
export type ControlPlaneCore = Omit<ControlPlane, "kubectl" | "helm" | "serviceAccountKubeconfig">;
