import { describe, expect, it } from "vitest";
import { Tracker, type WatchedObject } from "./tracker.ts";

const vm = (name: string, launcherPod?: string): WatchedObject => ({
  metadata: { name, uid: `uid-${name}` },
  ...(launcherPod ? { status: { launcherPod } } : {}),
});
const pod = (name: string, vmName: string): WatchedObject => ({
  metadata: {
    name,
    ownerReferences: [{ kind: "VirtualMachine", name: vmName, uid: `uid-${vmName}`, controller: true }],
  },
});

describe("Tracker", () => {
  it("converges a VM once both its pod and a status naming it are seen", () => {
    const t = new Tracker();
    t.sent("a", 0);
    t.sent("b", 10);
    t.vmEvent("ADDED", vm("a"), 5);
    t.podEvent("ADDED", pod("p-a", "a"), 40);
    expect(t.converged()).toBe(0);
    t.vmEvent("MODIFIED", vm("a", "p-a"), 50);
    expect(t.converged()).toBe(1);
    expect(t.lastConvergedAt()).toBeUndefined();
    t.vmEvent("MODIFIED", vm("b", "p-b"), 60);
    t.podEvent("ADDED", pod("p-b", "b"), 70);
    t.vmEvent("MODIFIED", vm("b", "p-b"), 500);
    expect(t.latencies().sort((x, y) => x - y)).toEqual([50, 60]);
    expect(t.lastConvergedAt()).toBe(70);
  });

  it("counts live pods per VM and records a moment with two", () => {
    const t = new Tracker();
    t.podEvent("ADDED", pod("p1", "a"), 1);
    t.podEvent("MODIFIED", pod("p1", "a"), 2);
    expect(t.maxPodsPerVm).toBe(1);
    t.podEvent("DELETED", pod("p1", "a"), 3);
    expect(t.livePods().size).toBe(0);
    t.podEvent("ADDED", pod("p2", "a"), 4);
    t.podEvent("ADDED", pod("p3", "a"), 5);
    expect(t.maxPodsPerVm).toBe(2);
    expect(t.duplicates).toEqual([{ vmUid: "uid-a", pods: ["p2", "p3"], at: 5 }]);
    expect(t.events).toEqual({ vms: 0, pods: 5 });
  });

  it("counts VMs and pods that exist, from their watch events", () => {
    const t = new Tracker();
    t.vmEvent("ADDED", vm("a"), 1);
    t.vmEvent("ADDED", vm("b"), 1);
    t.vmEvent("MODIFIED", vm("a", "p-a"), 2);
    t.podEvent("ADDED", pod("p-a", "a"), 2);
    expect([t.liveVms, t.livePodCount]).toEqual([2, 1]);
    t.podEvent("DELETED", pod("p-a", "a"), 3);
    t.vmEvent("DELETED", vm("a"), 4);
    expect([t.liveVms, t.livePodCount]).toEqual([1, 0]);
  });

  it("ignores pods without a controller reference", () => {
    const t = new Tracker();
    t.podEvent("ADDED", { metadata: { name: "stray" } }, 1);
    expect(t.livePods().size).toBe(0);
  });
});
