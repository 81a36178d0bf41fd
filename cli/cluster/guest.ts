/** `vireo pause|unpause`: `vireo-launcher pause|unpause` in the launcher pod (pods/exec), then the VM's annotation. */
import { PassThrough } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import { ClusterCliError } from "./errors.ts";
import type { VmClient } from "./kube.ts";
import { runLauncher, runningLauncherPod } from "./launcher-exec.ts";
import { type PauseExecOutcome, recordPauseOutcome } from "./pause-mark.ts";
import { ANNOTATION_PAUSED } from "../../crds/contract/index.ts";

/** Pauses or resumes the guest's vCPUs, records it on the VM and returns the line to print. */
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
  let outcome: PauseExecOutcome;
  try {
    await runLauncher(kc, pod, [command], { stdin: null, stdout: reply, stderr: process.stderr });
    outcome = { ok: true };
  } catch (err) {
    outcome = { ok: false, error: err };
  }
  await recordOrExplain(client, command, namespace, name, outcome, pod.metadata?.uid ?? "");
  if (!outcome.ok) {
    const err = outcome.error;
    const text = Buffer.concat(chunks).toString("utf8").trim();
    if (text && err instanceof Error) err.message += `\n${text}`;
    throw err;
  }
  return `VM ${name} ${command === "pause" ? "paused" : "unpaused"}`;
}

async function recordOrExplain(
  client: VmClient,
  command: "pause" | "unpause",
  namespace: string,
  name: string,
  outcome: PauseExecOutcome,
  podUid: string,
): Promise<void> {
  try {
    await recordPauseOutcome(client, command, namespace, name, outcome, podUid);
  } catch (err) {
    // The guest did change state; only the report of it is missing, so say how to finish it by hand.
    const fix =
      command === "pause"
        ? `kubectl annotate virtualmachine ${name} -n ${namespace} ${ANNOTATION_PAUSED}=${podUid} --overwrite`
        : `kubectl annotate virtualmachine ${name} -n ${namespace} ${ANNOTATION_PAUSED}-`;
    const detail = err instanceof Error ? err.message : String(err);
    throw new ClusterCliError(
      "API",
      `VM ${name} ${command === "pause" ? "paused" : "unpaused"}, but recording it on the VM failed: ${detail}; run ${fix}`,
      { cause: err },
    );
  }
}
