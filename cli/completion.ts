/**
 * `vireo completion bash|zsh|fish` prints a completion script; `vireo __complete <words...>` (hidden, and
 * what `kubectl_complete-vireo` runs for kubectl ≥ 1.26) prints the candidates for the last word. Cluster
 * lookups (VM, namespace names) use the kubeconfig like every command, with a short deadline so a slow or
 * unreachable cluster never blocks the shell.
 */
import type { V1Namespace } from "@kubernetes/client-node";
import { resourcePath } from "../lib/kube/paths.ts";
import { ClusterClient, loadTarget, VmClient } from "./cluster/kube.ts";
import { complete, formatCompletion, type CompletionSources } from "./completion/complete.ts";
import { completionScript, SHELLS, type Shell } from "./completion/scripts.ts";

const HELP = `usage: vireo completion bash|zsh|fish

Prints a shell completion script for vireo and kubectl-vireo:
  bash:  source <(vireo completion bash)
  zsh:   source <(vireo completion zsh)
  fish:  vireo completion fish | source
kubectl ≥ 1.26 completes \`kubectl vireo ...\` through the kubectl_complete-vireo executable.`;

/** `vireo completion SHELL`. */
export async function completionCommand(argv: string[]): Promise<number> {
  const [shell, ...rest] = argv;
  if (shell === "--help" || shell === "-h") {
    console.log(HELP);
    return 0;
  }
  if (!shell || rest.length > 0 || !(SHELLS as readonly string[]).includes(shell)) {
    console.error(`vireo completion: name one shell: ${SHELLS.join(", ")}\n\n${HELP}`);
    return 2;
  }
  process.stdout.write(completionScript(shell as Shell));
  return 0;
}

const DEADLINE_MS = 2000;

function withDeadline<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("completion lookup timed out")), DEADLINE_MS);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Completion sources from the kubeconfig (the `--kubeconfig` among the words wins, as for the commands). */
function clusterSources(kubeconfig: string | undefined): CompletionSources {
  const target = (context: string | undefined, namespace?: string) =>
    loadTarget({ kubeconfig, context, namespace });
  return {
    vms: async (namespace, context) => {
      const t = target(context, namespace);
      return (await withDeadline(new VmClient(t.kubeConfig).listVms(t.namespace))).map(
        (v) => v.metadata.name,
      );
    },
    namespaces: async (context) => {
      const kc = target(context).kubeConfig;
      const path = resourcePath({ version: "v1", plural: "namespaces" });
      const list = await withDeadline(
        new ClusterClient(kc).request<{ items: V1Namespace[] }>("list namespaces", "GET", path),
      );
      return list.items.map((n) => n.metadata?.name ?? "").filter((n) => n !== "");
    },
    contexts: async () =>
      target(undefined)
        .kubeConfig.getContexts()
        .map((c) => c.name),
  };
}

/** `vireo __complete WORDS...`: always exits 0 (a failed lookup completes nothing). */
export async function completeCommand(argv: string[]): Promise<number> {
  const words = argv.length === 0 ? [""] : argv;
  const i = words.findIndex((w) => w === "--kubeconfig" || w.startsWith("--kubeconfig="));
  const kubeconfig = i < 0 ? undefined : words[i]!.includes("=") ? words[i]!.split("=", 2)[1] : words[i + 1];
  process.stdout.write(formatCompletion(await complete(words, clusterSources(kubeconfig))));
  return 0;
}
