/**
 * The single-node cluster the end-to-end test runs on: scripts/cluster/up.sh (torn down again by down.sh),
 * or one that already runs (started by `npm run demo:cluster`, or named by VIREO_E2E_KUBECONFIG), which is
 * then left as it was found.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL("../../scripts/cluster/", import.meta.url));
/** Where up.sh writes the admin kubeconfig (scripts/cluster/lib.sh). */
export const LOCAL_KUBECONFIG = `${process.env.VIREO_CLUSTER_DIR ?? "/var/lib/vireo-cluster"}/admin.kubeconfig`;
/** The node up.sh registers. */
export const NODE_NAME = "vireo-node";

/** A cluster to test against. */
export interface LocalCluster {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** True when this run started the cluster (and will remove it). */
  owned: boolean;
  /** Removes the cluster when this run started it (unless VIREO_E2E_KEEP_CLUSTER=1). */
  stop(): Promise<void>;
}

/** Runs a script under scripts/cluster/, its output going to the test's stderr (what up.sh prints is useful). */
function script(name: string, args: string[] = [], timeoutMs = 30 * 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [`${SCRIPTS}${name}`, ...args], { stdio: ["ignore", "ignore", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `scripts/cluster/${name} failed (${signal ?? `exit ${code}`}); logs under /var/log/vireo-cluster`,
          ),
        );
    });
  });
}

async function answers(kubeconfigPath: string): Promise<boolean> {
  if (!existsSync(kubeconfigPath)) return false;
  try {
    const bin = `${process.env.VIREO_K8S_BIN ?? `${process.env.HOME}/.cache/vireo/bin/current`}/kubectl`;
    await run(bin, ["--kubeconfig", kubeconfigPath, "--request-timeout=10s", "get", "--raw", "/readyz"], {
      timeout: 20_000,
    });
    return true;
  } catch {
    return false;
  }
}

/** Finds or starts the cluster. */
export async function localCluster(): Promise<LocalCluster> {
  const given = process.env.VIREO_E2E_KUBECONFIG;
  let owned = false;
  const kubeconfigPath = given ?? LOCAL_KUBECONFIG;
  if (!(await answers(kubeconfigPath))) {
    if (given) throw new Error(`VIREO_E2E_KUBECONFIG=${given}: the cluster does not answer /readyz`);
    await script("up.sh");
    owned = true;
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    kubeConfig,
    owned,
    async stop() {
      if (!owned || process.env.VIREO_E2E_KEEP_CLUSTER === "1") return;
      await script("down.sh", [], 10 * 60_000);
    },
  };
}
