import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import type { ControlPlane, ControlPlaneCore } from "./controlplane-types.ts";
import { HarnessError } from "./errors.ts";

/**
 * True when the developer asked to run against their own cluster with VIREO_TEST_EXTERNAL_CLUSTER=1
 * (KUBECONFIG then names it). KUBECONFIG alone is not enough, so one left set in a shell never points the
 * tests at a real cluster by accident.
 */
export function externalClusterRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.VIREO_TEST_EXTERNAL_CLUSTER === "1";
}

/** Connects to the cluster in KUBECONFIG and checks it answers /version within 30 s. */
export async function connectExternalCluster(
  bind: (core: ControlPlaneCore) => ControlPlane,
): Promise<ControlPlane> {
  const env = process.env;
  const paths = (env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
  if (paths.length === 0) {
    throw new HarnessError(
      "EXTERNAL_CLUSTER",
      "VIREO_TEST_EXTERNAL_CLUSTER=1 needs KUBECONFIG to name a kubeconfig file",
    );
  }
  const started = Date.now();
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault(); // reads and merges KUBECONFIG like kubectl does
  } catch (cause) {
    throw new HarnessError("EXTERNAL_CLUSTER", `cannot load KUBECONFIG=${env.KUBECONFIG}`, { cause });
  }
  const dir = await mkdtemp(join(tmpdir(), "vireo-ext-"));
  // kubectl and helm take one --kubeconfig file; merge a KUBECONFIG list into one.
  let kubeconfigPath = paths[0] as string;
  if (paths.length > 1) {
    kubeconfigPath = join(dir, "merged.kubeconfig");
    await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
  }
  const server = kubeConfig.getCurrentCluster()?.server ?? "";
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      kubeConfig.makeApiClient(VersionApi).getCode(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer within 30 s")), 30_000);
      }),
    ]);
  } catch (cause) {
    await rm(dir, { recursive: true, force: true });
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new HarnessError(
      "EXTERNAL_CLUSTER",
      `the cluster in KUBECONFIG (${server}) does not answer /version: ${why}`,
      {
        cause,
      },
    );
  } finally {
    clearTimeout(timer);
  }
  return bind({
    kubeConfig,
    kubeconfigPath,
    server,
    external: true,
    dir,
    logs: {},
    pids: {},
    startupMs: Date.now() - started,
    checkAlive: () => undefined,
    stop: () => rm(dir, { recursive: true, force: true }),
  });
}
