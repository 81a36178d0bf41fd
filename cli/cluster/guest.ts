/** `vireo pause|unpause`: `vireo-launcher pause|unpause` in the launcher pod (pods/exec). */
import type { KubeConfig } from "@kubernetes/client-node";
import type { VmClient } from "./kube.ts";
import { runLauncher, runningLauncherPod } from "./launcher-exec.ts";

/** Pauses or resumes the guest's vCPUs and returns the line to print. */
export async function pauseOrUnpause(
  kc: KubeConfig,
  client: VmClient,
  command: "pause" | "unpause",
  namespace: string,
  name: string,
): Promise<string> {
  const vm = await client.getVm(namespace, name);
  const pod = await runningLauncherPod(client, vm);
  await runLauncher(kc, pod, [command], { stdin: null, stdout: process.stdout, stderr: process.stderr });
  return `VM ${name} ${command === "pause" ? "paused" : "unpaused"}`;
}
