// A half-open watch against a real kube-apiserver: a TCP proxy between the informer and the API server stops
// forwarding (both ways) without closing anything, as a vanished peer or a stalled middlebox does. The watch
// sees no event and no bookmark; the informer takes it for dead after its idle time, restarts it (through
// the proxy, forwarding again) and its cache catches up with what changed meanwhile.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../lib/clock.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { Informer } from "../../operator/kube/informer.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";

const cp = useControlPlane();
let ns: TestNamespace;
let core: CoreV1Api;

/** A TCP proxy to `target` whose open connections can be frozen: nothing forwarded, nothing closed. */
async function freezingProxy(target: URL) {
  const frozen = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  let freezeNew = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
    }
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on("data", (d: Buffer) => {
        if (!frozen.has(from)) to.write(d);
      });
    forward(client, upstream);
    forward(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    if (freezeNew) frozen.add(client).add(upstream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    /** Freezes every connection open now; later ones forward. */
    freeze: () => {
      for (const s of open) frozen.add(s);
      freezeNew = false;
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

beforeAll(async () => {
  ns = await createTestNamespace(cp().kubeConfig, "half-open");
  core = cp().kubeConfig.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await core?.deleteCollectionNamespacedConfigMap({ namespace: ns.name }).catch(() => undefined);
  await ns?.delete();
});

describe("a half-open watch", () => {
  it("is restarted after its idle time and the cache catches up", async () => {
    const kc = cp().kubeConfig;
    const proxy = await freezingProxy(new URL(kc.getCurrentCluster()!.server));
    const options = JSON.parse(kc.exportConfig()) as { clusters: { cluster: { server: string } }[] };
    for (const c of options.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
    const viaProxy = new KubeConfig();
    viaProxy.loadFromString(JSON.stringify(options));
    const client = await KubeClient.connect(viaProxy, 4);
    const informer = new Informer<V1ConfigMap>({
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      client,
      clock: systemClock,
      log: pino({ level: "silent" }),
      idleMs: 4_000,
    });
    try {
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "before" } } });
      await informer.start();
      await eventually(async () => expect(informer.get("before", ns.name)).toBeDefined(), {
        timeoutMs: 30_000,
      });
      // Seen through the watch (the list is done): the watch is open, on a connection that is frozen next.
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "watched" } } });
      await eventually(async () => expect(informer.get("watched", ns.name)).toBeDefined(), {
        timeoutMs: 30_000,
      });
      const listsBefore = informer.lists;
      proxy.freeze();
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "during" } } });
      // Without idle detection the frozen watch waits for TCP keepalive (hours): "during" never arrives.
      await eventually(async () => expect(informer.get("during", ns.name)).toBeDefined(), {
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      console.log(`half-open watch: cache caught up after ${informer.lists - listsBefore} relist(s)`);
    } finally {
      await informer.stop();
      client.close();
      await proxy.close();
    }
  });
});
