// client-node's Watch was reported to leak a connection (a new https.Agent per watch request, never destroyed:
// kubernetes-client/javascript#2893) on every reconnect. The operator's informers reconnect whenever the API
// server ends a watch, so this forces 100 reconnects of one informer against the real kube-apiserver and
// checks that the worker's file descriptors and its sockets to the API server stay bounded, and that the
// cache still sees what happens after (and during) the reconnects.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { CoreV1Api, Watch, type KubernetesObject, type V1ConfigMap } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Informer, type WatchLike } from "../../operator/kube/informer.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { systemClock } from "../../lib/clock.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";

const RECONNECTS = 100;
const cp = useControlPlane();
let ns: TestNamespace;
let core: CoreV1Api;

beforeAll(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "watch-reconnect");
  core = cp().kubeConfig.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  if (ns) {
    await core.deleteCollectionNamespacedConfigMap({ namespace: ns.name }).catch(() => undefined);
    await ns.delete();
  }
});

/** client-node's real Watch, with the API server asked to end every watch after `timeoutSeconds`. */
class ShortWatch implements WatchLike {
  started = 0;
  ended = 0;
  errors: unknown[] = [];
  readonly #inner: Watch;
  constructor(
    watch: Watch,
    private readonly timeoutSeconds: number,
  ) {
    this.#inner = watch;
  }
  watch(...[path, query, callback, done]: Parameters<WatchLike["watch"]>): Promise<AbortController> {
    this.started++;
    return this.#inner.watch(path, { ...query, timeoutSeconds: this.timeoutSeconds }, callback, (err) => {
      this.ended++;
      if (err) this.errors.push(err);
      done(err);
    });
  }
}

/** client-node's real Watch, with each watch aborted (as a connection reset would end it) after its first ADDED. */
class AbortingWatch implements WatchLike {
  started = 0;
  errors = 0;
  readonly #inner: Watch;
  constructor(watch: Watch) {
    this.#inner = watch;
  }
  watch(...[path, query, callback, done]: Parameters<WatchLike["watch"]>): Promise<AbortController> {
    this.started++;
    let controller: AbortController | undefined;
    const started = this.#inner.watch(
      path,
      query,
      (phase, obj, w) => {
        callback(phase, obj, w);
        if (phase === "ADDED") setTimeout(() => controller?.abort(), 0);
      },
      (err) => {
        if (err) this.errors++;
        done(err);
      },
    );
    void started.then((c) => (controller = c));
    return started;
  }
}

/** Open file descriptors of this process (the vitest worker the informer runs in). */
function fdTargets(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed while we looked (the readdir's own fd, for one)
    }
  }
  return out;
}

const TCP_STATES: Record<string, string> = { "01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT" };

/** This process's TCP sockets to `port`, by state (from /proc/net/tcp{,6} and the socket inodes in our fds). */
function socketsTo(port: number): Record<string, number> {
  const inodes = new Set(
    fdTargets()
      .map((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1])
      .filter((i): i is string => i !== undefined),
  );
  const byState: Record<string, number> = {};
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").trim().split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const remotePort = parseInt(f[2]!.split(":")[1]!, 16);
      if (remotePort !== port || !inodes.has(f[9]!)) continue;
      const state = TCP_STATES[f[3]!] ?? `state-${f[3]}`;
      byState[state] = (byState[state] ?? 0) + 1;
    }
  }
  return byState;
}

const total = (s: Record<string, number>) => Object.values(s).reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("operator informer: watch reconnects", () => {
  it(`survives ${RECONNECTS} watch reconnects without leaking sockets or file descriptors, and keeps its cache right`, async () => {
    const port = Number(new URL(cp().server).port);
    const client = await KubeClient.connect(cp().kubeConfig);
    const watch = new ShortWatch(new Watch(cp().kubeConfig), 1);
    const informer = new Informer<V1ConfigMap & KubernetesObject>({
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      client,
      clock: systemClock,
      log: pino({ level: "warn" }),
      watch,
    });
    const make = (name: string) =>
      core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name }, data: { k: name } } });
    await make("before");
    await informer.start();
    try {
      expect(informer.get("before", ns.name)?.data).toEqual({ k: "before" });

      // Warm up: the first few reconnects settle the agents and the worker's own descriptors.
      await eventually(async () => expect(watch.ended).toBeGreaterThanOrEqual(3), { timeoutMs: 30_000 });
      const fdsBefore = fdTargets().length;
      const socketsBefore = socketsTo(port);
      const startedBefore = watch.started;
      const t0 = Date.now();

      // Objects made and removed while the watch keeps reconnecting: none may be missed.
      const during: string[] = [];
      let peakSockets = total(socketsBefore);
      let peakFds = fdsBefore;
      while (watch.started - startedBefore < RECONNECTS) {
        const n = watch.started - startedBefore;
        if (n % 10 === 5 && !during.includes(`during-${n}`)) {
          during.push(`during-${n}`);
          await make(`during-${n}`);
        }
        if (n === 50 && during.length > 0 && informer.get("before", ns.name))
          await core.deleteNamespacedConfigMap({ name: "before", namespace: ns.name });
        peakSockets = Math.max(peakSockets, total(socketsTo(port)));
        peakFds = Math.max(peakFds, fdTargets().length);
        await sleep(200);
        expect(Date.now() - t0, "reconnects stalled").toBeLessThan(250_000);
      }
      const seconds = (Date.now() - t0) / 1000;
      // Let closed sockets finish closing before counting.
      await sleep(500);
      const fdsAfter = fdTargets().length;
      const socketsAfter = socketsTo(port);

      await make("after");
      await eventually(async () => expect(informer.get("after", ns.name)?.data).toEqual({ k: "after" }), {
        timeoutMs: 15_000,
      });
      for (const name of during) expect(informer.get(name, ns.name)?.data, name).toEqual({ k: name });
      await eventually(async () => expect(informer.get("before", ns.name)).toBeUndefined(), {
        timeoutMs: 15_000,
      });
      expect(
        informer
          .list(ns.name)
          .map((c) => c.metadata!.name)
          .sort(),
      ).toEqual([...during, "after"].sort());

      console.log(
        `watch reconnects: ${watch.started - startedBefore} in ${seconds.toFixed(1)} s (ended cleanly: ` +
          `${watch.ended - watch.errors.length}, with errors: ${watch.errors.length}); informer lists: ${informer.lists}; ` +
          `fds ${fdsBefore} → ${fdsAfter} (peak ${peakFds}); sockets to the API server ` +
          `${JSON.stringify(socketsBefore)} → ${JSON.stringify(socketsAfter)} (peak ${peakSockets})`,
      );
      expect(watch.errors).toEqual([]);
      // One relist at start, none after: clean ends resume from the last resourceVersion.
      expect(informer.lists).toBe(1);
      // Bounded: the watch's socket, the KubeClient's keep-alive pool (a handful), nothing per reconnect.
      expect(fdsAfter - fdsBefore).toBeLessThanOrEqual(5);
      expect(total(socketsAfter)).toBeLessThanOrEqual(total(socketsBefore) + 3);
      expect(peakSockets).toBeLessThanOrEqual(total(socketsBefore) + 4);
      expect(socketsAfter.CLOSE_WAIT ?? 0).toBe(0);
    } finally {
      await informer.stop();
    }
  }, 300_000);

  it("restarts a watch that was reset 20 times, each after 500 ms (a working watch ends the back-off), without leaking", async () => {
    const port = Number(new URL(cp().server).port);
    const client = await KubeClient.connect(cp().kubeConfig);
    const watch = new AbortingWatch(new Watch(cp().kubeConfig));
    const informer = new Informer<V1ConfigMap & KubernetesObject>({
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      labelSelector: "test=abort",
      client,
      clock: systemClock,
      log: pino({ level: "silent" }),
      watch,
    });
    await informer.start();
    try {
      const fdsBefore = fdTargets().length;
      const socketsBefore = socketsTo(port);
      let peakSockets = total(socketsBefore);
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) {
        const name = `abort-${i}`;
        await core.createNamespacedConfigMap({
          namespace: ns.name,
          body: { metadata: { name, labels: { test: "abort" } }, data: { k: name } },
        });
        await eventually(
          async () => {
            expect(informer.get(name, ns.name)).toBeDefined();
            expect(watch.errors).toBeGreaterThanOrEqual(i + 1);
            peakSockets = Math.max(peakSockets, total(socketsTo(port)));
          },
          { timeoutMs: 60_000, intervalMs: 50, description: name },
        );
      }
      const seconds = (Date.now() - t0) / 1000;
      await eventually(async () => expect(watch.started).toBeGreaterThanOrEqual(21), { timeoutMs: 10_000 });
      await sleep(500);
      const fdsAfter = fdTargets().length;
      const socketsAfter = socketsTo(port);
      console.log(
        `watch resets: ${watch.errors} in ${seconds.toFixed(1)} s, watches opened: ${watch.started}; ` +
          `informer lists: ${informer.lists}; fds ${fdsBefore} → ${fdsAfter}; sockets to the API server ` +
          `${JSON.stringify(socketsBefore)} → ${JSON.stringify(socketsAfter)} (peak ${peakSockets})`,
      );
      expect(informer.list(ns.name)).toHaveLength(20);
      // Without the reset, the waits would double to 30 s: 0.5 + 1 + … + 16 + 14 × 30 ≈ 450 s.
      expect(seconds).toBeLessThan(60);
      expect(fdsAfter - fdsBefore).toBeLessThanOrEqual(5);
      expect(total(socketsAfter)).toBeLessThanOrEqual(total(socketsBefore) + 3);
      expect(peakSockets).toBeLessThanOrEqual(total(socketsBefore) + 4);
      expect(socketsAfter.CLOSE_WAIT ?? 0).toBe(0);
    } finally {
      await informer.stop();
    }
  }, 300_000);
});
