/** Feeds a {@link Tracker} from two watches (VMs, launcher pods), re-opened from the last version if they end. */
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Tracker, WatchedObject } from "./tracker.ts";

/** A running watch; stop() ends it. */
export interface Watching {
  stop(): void;
}

function watchLoop(
  kc: KubeConfig,
  path: string,
  query: Record<string, string>,
  onEvent: (type: string, obj: WatchedObject) => void,
): Watching {
  const watch = new Watch(kc);
  let stopped = false;
  let controller: AbortController | undefined;
  let rv: string | undefined;
  const open = async () => {
    if (stopped) return;
    controller = await watch.watch(
      path,
      {
        ...query,
        allowWatchBookmarks: "true",
        timeoutSeconds: "3600",
        ...(rv ? { resourceVersion: rv } : {}),
      },
      (type, obj: WatchedObject & { metadata?: { resourceVersion?: string } }) => {
        // An ERROR (410 Gone) means the version is too old: start over without one (ADDED again is harmless).
        if (type === "ERROR") return void (rv = undefined);
        rv = obj?.metadata?.resourceVersion ?? rv;
        if (type !== "BOOKMARK") onEvent(type, obj);
      },
      () => void setTimeout(() => void open().catch(() => {}), 200),
    );
  };
  void open().catch(() => {});
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** Watches VMs and launcher pods in `namespace` into `tracker`, timestamped with performance.now(). */
export function watchInto(kc: KubeConfig, namespace: string, tracker: Tracker): Watching {
  const vms = watchLoop(kc, `/apis/vireo.dev/v1alpha1/namespaces/${namespace}/virtualmachines`, {}, (t, o) =>
    tracker.vmEvent(t, o, performance.now()),
  );
  const pods = watchLoop(
    kc,
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: "vireo.dev/vm" },
    (t, o) => tracker.podEvent(t, o, performance.now()),
  );
  return {
    stop() {
      vms.stop();
      pods.stop();
    },
  };
}
