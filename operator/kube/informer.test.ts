// How client-node's ListWatch behaves under watch failures, through our wrapper: a fake watch stands in
// for the API server's watch stream, a fake list for its list endpoint.
import type { KubernetesObject, Watch } from "@kubernetes/client-node";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../lib/clock.ts";
import type { KubeClient } from "../../lib/kube/client.ts";
import { Informer } from "./informer.ts";

type Obj = KubernetesObject & { metadata: { name: string; namespace: string; resourceVersion: string } };
const obj = (name: string, rv: string): Obj => ({
  metadata: { name, namespace: "ns", resourceVersion: rv, managedFields: [{ manager: "x" }] },
});

class FakeWatch {
  calls: {
    query: Record<string, unknown>;
    cb: (phase: string, o: unknown) => void;
    done: (e: unknown) => void;
  }[] = [];
  async watch(
    _path: string,
    query: Record<string, unknown>,
    cb: (phase: string, o: unknown) => void,
    done: (e: unknown) => void,
  ) {
    this.calls.push({ query, cb, done });
    return new AbortController();
  }
  get last() {
    return this.calls[this.calls.length - 1]!;
  }
}

function setup(lists: (() => Obj[] | Error)[], trim?: (o: KubernetesObject) => KubernetesObject) {
  const clock = new FakeClock();
  const watch = new FakeWatch();
  let listCalls = 0;
  const client = {
    kubeConfig: {},
    async request() {
      const r = lists[Math.min(listCalls++, lists.length - 1)]!();
      if (r instanceof Error) throw r;
      return { items: r, metadata: { resourceVersion: String(100 + listCalls) } };
    },
  } as unknown as KubeClient;
  const informer = new Informer<Obj>({
    path: "/api/v1/pods",
    client,
    clock,
    log: pino({ level: "silent" }),
    watch: watch as unknown as Watch,
    ...(trim ? { trim } : {}),
  });
  const seen: string[] = [];
  informer.on({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (o) => seen.push(`update ${o.metadata.name}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  return { clock, watch, informer, seen, listCalls: () => listCalls };
}

describe("Informer over client-node's ListWatch", () => {
  it("lists, then watches from the list's resourceVersion; caches objects without managedFields", async () => {
    const t = setup([() => [obj("a", "1")]]);
    await t.informer.start();
    await t.clock.advance(0);
    expect(t.informer.synced).toBe(true);
    expect(t.watch.last.query).toMatchObject({ resourceVersion: "101", allowWatchBookmarks: true });
    t.watch.last.cb("ADDED", obj("b", "102"));
    t.watch.last.cb("MODIFIED", obj("a", "103"));
    expect(t.seen).toEqual(["add a", "add b", "update a"]);
    expect(t.informer.get("a", "ns")?.metadata.managedFields).toBeUndefined();
    expect(t.informer.get("b", "ns")?.metadata.managedFields).toBeUndefined();
    expect(
      t.informer
        .list("ns")
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["a", "b"]);
  });

  it("trims listed and watched objects, drops last-applied-configuration, and passes ERROR statuses intact", async () => {
    const trim = (o: KubernetesObject) => ({ metadata: { ...o.metadata, labels: { trimmed: "yes" } } });
    const t = setup([() => [obj("a", "1")], () => [obj("a", "1")]], trim);
    await t.informer.start();
    await t.clock.advance(0);
    const b = obj("b", "102");
    b.metadata.annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{...}", keep: "1" };
    t.watch.last.cb("ADDED", b);
    expect(t.informer.get("a", "ns")?.metadata.labels).toEqual({ trimmed: "yes" });
    expect(t.informer.get("b", "ns")?.metadata).toMatchObject({
      labels: { trimmed: "yes" },
      annotations: { keep: "1" },
    });
    expect(t.informer.get("b", "ns")?.metadata.annotations).not.toHaveProperty(
      "kubectl.kubernetes.io/last-applied-configuration",
    );
    // A 410 Status must reach ListWatch as it is, or it would not relist.
    t.watch.last.cb("ERROR", { kind: "Status", code: 410, metadata: {} });
    t.watch.last.done(null);
    await t.clock.advance(0);
    expect(t.listCalls()).toBe(2);
  });

  it("re-opens a cleanly closed watch from the last resourceVersion without relisting", async () => {
    const t = setup([() => [obj("a", "1")]]);
    await t.informer.start();
    await t.clock.advance(0);
    t.watch.last.cb("MODIFIED", obj("a", "150"));
    t.watch.last.done(null);
    await t.clock.advance(0);
    expect(t.watch.calls).toHaveLength(2);
    expect(t.watch.last.query).toMatchObject({ resourceVersion: "150" });
    expect(t.listCalls()).toBe(1);
  });

  it("relists after 410 Gone and emits delete for objects that vanished meanwhile", async () => {
    let round = 0;
    const t = setup([
      () => (round++ === 0 ? [obj("a", "1"), obj("b", "1")] : [obj("a", "1"), obj("c", "160")]),
    ]);
    await t.informer.start();
    await t.clock.advance(0);
    t.watch.last.cb("ERROR", { kind: "Status", code: 410, metadata: {} });
    t.watch.last.done(null);
    await t.clock.advance(0);
    expect(t.listCalls()).toBe(2);
    expect(t.informer.lists).toBe(2);
    expect(t.seen).toEqual(["add a", "add b", "delete b", "add c"]);
    expect(t.informer.get("b", "ns")).toBeUndefined();
  });

  it("relists when the watch request itself answers 410", async () => {
    const t = setup([() => [obj("a", "1")]]);
    await t.informer.start();
    await t.clock.advance(0);
    t.watch.last.done(Object.assign(new Error("Gone"), { statusCode: 410 }));
    await t.clock.advance(0);
    expect(t.listCalls()).toBe(2);
  });

  it("restarts after other errors with back-off (client-node alone would stop for good)", async () => {
    const t = setup([() => [obj("a", "1")], () => new Error("connection refused"), () => [obj("a", "1")]]);
    await t.informer.start();
    await t.clock.advance(0);
    t.watch.last.done(new Error("ECONNRESET"));
    await t.clock.advance(0);
    expect(t.watch.calls).toHaveLength(1);
    await t.clock.advance(500);
    // Resumes the watch from the last resourceVersion.
    expect(t.watch.calls).toHaveLength(2);
    expect(t.watch.last.query).toMatchObject({ resourceVersion: "101" });
    // A failing list backs off longer each time, then recovers.
    t.watch.last.cb("ERROR", { kind: "Status", code: 410, metadata: {} });
    t.watch.last.done(null);
    await t.clock.advance(0);
    expect(t.listCalls()).toBe(2);
    await t.clock.advance(999);
    expect(t.listCalls()).toBe(2);
    await t.clock.advance(1);
    expect(t.listCalls()).toBe(3);
    expect(t.watch.calls).toHaveLength(3);
  });

  it("a watch that works resets the back-off: connection resets weeks apart each retry after 500 ms", async () => {
    const t = setup([() => [obj("a", "1")]]);
    await t.informer.start();
    await t.clock.advance(0);
    for (let i = 0; i < 8; i++) {
      const calls = t.watch.calls.length;
      // Healthy for a while: events, a clean server-side end and a reconnect; then the connection resets.
      t.watch.last.cb("MODIFIED", obj("a", String(200 + i)));
      t.watch.last.done(null);
      await t.clock.advance(0);
      expect(t.watch.calls).toHaveLength(calls + 1);
      t.watch.last.done(new Error("ECONNRESET"));
      await t.clock.advance(499);
      expect(t.watch.calls, `reset ${i}`).toHaveLength(calls + 1);
      await t.clock.advance(1);
      expect(t.watch.calls, `reset ${i}`).toHaveLength(calls + 2);
    }
    expect(t.listCalls()).toBe(1);
  });

  it("back-to-back failures still back off: an ERROR event is not a sign of health", async () => {
    const t = setup([() => [obj("a", "1")]]);
    await t.informer.start();
    await t.clock.advance(0);
    t.watch.last.done(new Error("ECONNRESET"));
    await t.clock.advance(500);
    expect(t.watch.calls).toHaveLength(2);
    t.watch.last.cb("ERROR", { kind: "Status", code: 500, metadata: {} });
    t.watch.last.done(new Error("ECONNRESET"));
    await t.clock.advance(999);
    expect(t.watch.calls).toHaveLength(2);
    await t.clock.advance(1);
    expect(t.watch.calls).toHaveLength(3);
  });

  it("start() waits for the first successful list, even if the first attempt fails", async () => {
    const t = setup([() => new Error("apiserver starting"), () => [obj("a", "1")]]);
    let done = false;
    const started = t.informer.start().then(() => (done = true));
    await t.clock.advance(0);
    expect(done).toBe(false);
    await t.clock.advance(500);
    await started;
    expect(t.informer.get("a", "ns")).toBeDefined();
  });
});
