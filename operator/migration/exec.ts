/**
 * `pods/exec` of `vireo-launcher <args>` in a launcher pod's container, for the migration controller: the
 * launchers hold no API credentials, so the operator drives them through their control socket this way (as
 * `vireo pause` does). Collects stdout; a non-zero exit rejects with the launcher's stderr.
 */
import { PassThrough } from "node:stream";
import { Exec, type KubeConfig, type V1Pod, type V1Status } from "@kubernetes/client-node";
import { LAUNCHER_CONTAINER } from "../../crds/contract/metadata.ts";
import { LAUNCHER_BIN } from "../../crds/contract/pod-layout.ts";
import type { LauncherExec } from "./controller.ts";

/** A {@link LauncherExec} over the API server's pods/exec; `timeoutMs` bounds each call. */
export function podsExec(kc: KubeConfig, timeoutMs = 60_000): LauncherExec {
  const exec = new Exec(kc);
  return (pod: V1Pod, args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = "";
      let err = "";
      stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
      stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
      const timer = setTimeout(
        () => reject(new Error(`exec ${args.join(" ")}: no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const done = (status: V1Status) => {
        clearTimeout(timer);
        if (status.status === "Success") resolve(out);
        else
          reject(
            new Error(`exec ${args.join(" ")} in ${pod.metadata?.name}: ${err.trim() || status.message}`),
          );
      };
      exec
        .exec(
          pod.metadata!.namespace!,
          pod.metadata!.name!,
          LAUNCHER_CONTAINER,
          [LAUNCHER_BIN, ...args],
          stdout,
          stderr,
          null,
          false,
          done,
        )
        .catch((e: unknown) => {
          clearTimeout(timer);
          reject(e as Error);
        });
    });
}
