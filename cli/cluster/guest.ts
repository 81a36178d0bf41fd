/** `vireo pause|unpause`: `vireo-launcher pause|unpause` in the launcher pod (pods/exec). */
import { PassThrough } from "node:stream";
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
  // The launcher answers with its control reply (JSON); the user gets one line, the reply only on failure.
  const reply = new PassThrough();
  const chunks: Buffer[] = [];
  reply.on("data", (c: Buffer) => chunks.push(c));
  try {
    await runLauncher(kc, pod, [command], { stdin: null, stdout: reply, stderr: process.stderr });
  } catch (err) {
    const text = Buffer.concat(chunks).toString("utf8").trim();
    if (text && err instanceof Error) err.message += `\n${text}`;
    throw err;
  }
  return `VM ${name} ${command === "pause" ? "paused" : "unpaused"}`;
}
