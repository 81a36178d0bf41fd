/**
 * `vireo console`: the serial console through pods/exec of `vireo-launcher console`, with the local terminal
 * in raw mode so every key (Ctrl-C included) reaches the guest; Ctrl-] detaches, as in virtctl and telnet.
 */
import { PassThrough } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import { ClusterCliError } from "./errors.ts";
import type { VmClient } from "./kube.ts";
import { execLauncher, runningLauncherPod } from "./launcher-exec.ts";

/** The detach key: Ctrl-] (GS, 0x1d). */
export const ESCAPE_BYTE = 0x1d;

/**
 * Splits local input at the escape byte: what goes to the guest, and whether the user asked to detach.
 * Pure, so the one rule that matters (never forward the escape, stop at it) is unit-tested.
 */
export function splitAtEscape(chunk: Buffer): { forward: Buffer; detach: boolean } {
  const i = chunk.indexOf(ESCAPE_BYTE);
  return i < 0 ? { forward: chunk, detach: false } : { forward: chunk.subarray(0, i), detach: true };
}

/** Attaches the terminal to the VM's serial console until the user detaches or the session ends. */
export async function attachConsole(
  kc: KubeConfig,
  client: VmClient,
  namespace: string,
  name: string,
): Promise<number> {
  const vm = await client.getVm(namespace, name);
  if (vm.spec?.devices?.serialConsole === false) {
    throw new ClusterCliError(
      "NO_CONSOLE",
      `VM ${name} has no serial console (spec.devices.serialConsole: false); set it to true and run vireo restart ${name}`,
    );
  }
  const pod = await runningLauncherPod(client, vm);
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  const toRemote = new PassThrough();
  const session = await execLauncher(kc, pod, ["console"], {
    stdin: toRemote,
    stdout: process.stdout,
    stderr: process.stderr,
    tty: raw,
  });
  let detached = false;
  const onData = (chunk: Buffer) => {
    const { forward, detach } = splitAtEscape(chunk);
    if (forward.length > 0) toRemote.write(forward);
    if (detach) {
      detached = true;
      session.close();
    }
  };
  // On a terminal the launcher adds its own banner with the escape key.
  process.stderr.write(`VM ${name}: serial console of pod ${pod.metadata?.name}\r\n`);
  if (raw) stdin.setRawMode(true);
  stdin.on("data", onData);
  // Piped (non-terminal) input ended: pass the end on; `vireo-launcher console` then closes its session and
  // exits, which ends this one. (If this process is killed instead, the exec's stdin closes the same way.)
  stdin.once("end", () => toRemote.end());
  stdin.resume();
  try {
    const { exitCode } = await session.done;
    process.stderr.write(detached ? "\r\nDetached.\r\n" : "\r\nConsole session ended.\r\n");
    return detached ? 0 : (exitCode ?? 0);
  } finally {
    stdin.off("data", onData);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  }
}
