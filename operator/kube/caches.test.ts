import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podView } from "../reconcile/pod-view.ts";
import { ownerKey, splitKey, trimPod } from "./caches.ts";

const pod: V1Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "vireo-launcher-web",
    namespace: "prod",
    uid: "p1",
    resourceVersion: "42",
    creationTimestamp: "2025-06-01T12:00:00Z" as unknown as Date,
    deletionTimestamp: "2025-06-01T12:05:00Z" as unknown as Date,
    labels: { "vireo.dev/vm": "web" },
    annotations: { "vireo.dev/spec-hash": "abc", "vireo.dev/start-failures": "1" },
    ownerReferences: [
      { apiVersion: "vireo.dev/v1alpha1", kind: "VirtualMachine", name: "web", uid: "vm1", controller: true },
    ],
  },
  spec: {
    nodeName: "node-a",
    containers: [{ name: "launcher", env: [{ name: "VIREO_LAUNCHER_CONFIG", value: "x".repeat(2000) }] }],
  },
  status: {
    phase: "Running",
    podIPs: [{ ip: "10.0.0.1" }],
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [
      {
        name: "launcher",
        ready: true,
        restartCount: 0,
        image: "i",
        imageID: "",
        started: true,
        state: { running: {} },
      },
    ],
  },
};

describe("pod cache trimming", () => {
  it("keeps everything podView reads and the owner, and drops the spec", () => {
    const trimmed = trimPod(structuredClone(pod)) as V1Pod;
    expect(podView(trimmed)).toEqual(podView(pod));
    expect(ownerKey(trimmed)).toBe("prod/web");
    expect(trimmed.metadata?.resourceVersion).toBe("42");
    expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(pod).length / 2);
  });

  it("splits keys at the first slash", () => {
    expect(splitKey("prod/web")).toEqual(["prod", "web"]);
  });
});
