import { describe, expect, it } from "vitest";
import pino from "pino";
import type { V1Pod } from "@kubernetes/client-node";
import { AgentReader } from "./reader.ts";

const pod = (uid: string): V1Pod => ({ metadata: { name: "p", namespace: "ns", uid } });
const report = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    connected: true,
    reason: "Connected",
    message: "the agent answers",
    updatedAt: new Date().toISOString(),
    info: {
      hostname: "web",
      filesystems: [
        { name: "vda1", mountpoint: "/", type: "ext4", usedBytes: Math.random() * 1e9, totalBytes: 4e9 },
      ],
    },
    counters: { syncs: Math.floor(Math.random() * 100) },
    ...over,
  });

describe("AgentReader", () => {
  it("wakes a VM only when what status carries changed; counters, poll times and used bytes do not count", async () => {
    const woken: string[] = [];
    let answer = report();
    let running = [{ key: "ns/web", pod: pod("u1") }];
    const reader = new AgentReader({
      running: () => running,
      enqueue: (k) => woken.push(k),
      exec: async () => answer,
      log: pino({ level: "silent" }),
    });
    await reader.tick();
    expect(woken).toEqual(["ns/web"]);
    expect(reader.get("ns/web")).toMatchObject({ podUid: "u1", connected: true, info: { hostname: "web" } });
    expect(reader.get("ns/web")?.info.filesystems?.[0]).not.toHaveProperty("usedBytes");
    answer = report();
    await reader.tick();
    expect(woken).toHaveLength(1);
    answer = report({ connected: false, reason: "AgentNotResponding" });
    await reader.tick();
    expect(woken).toHaveLength(2);
    // A failed read keeps the last report; a VM without a running pod is forgotten.
    answer = "not json";
    await reader.tick();
    expect(reader.get("ns/web")?.reason).toBe("AgentNotResponding");
    running = [];
    await reader.tick();
    expect(reader.get("ns/web")).toBeUndefined();
  });
});
