import { rmSync, writeFileSync } from "node:fs";
import type { Logger } from "../supervisor/logger.ts";

/**
 * Mirrors readiness into a file for the kubelet's exec probe. An HTTP probe cannot work for every binding:
 * with the bridge binding the pod IP belongs to the guest, so the kubelet's request to podIP:9100 reaches
 * the guest, not the launcher. A file check costs the node nothing per probe (no process of ours starts).
 */
export function readyMarker(path: string, log: Pick<Logger, "warn">): { update(ready: boolean): void } {
  let last: boolean | undefined;
  return {
    update(ready) {
      if (ready === last) return;
      try {
        if (ready) writeFileSync(path, "ready\n");
        else rmSync(path, { force: true });
        last = ready;
      } catch (err) {
        log.warn(
          { err: (err as Error).message, path },
          "cannot update the readiness marker; the pod will not turn ready",
        );
      }
    },
  };
}
