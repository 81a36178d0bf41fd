import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podView, toMillis } from "./pod-view.ts";

const base = (status: Record<string, unknown>, meta: Record<string, unknown> = {}): V1Pod =>
  ({
    metadata: {
      name: "vireo-launcher-web",
      uid: "u1",
      creationTimestamp: "2025-06-01T12:00:00Z",
      annotations: {
        "vireo.dev/spec-hash": "abc",
        "vireo.dev/start-failures": "2",
        "vireo.dev/restartedAt": "2025-06-01T11:00:00Z",
      },
      ...meta,
    },
    spec: { containers: [] },
    status,
  }) as unknown as V1Pod;

describe("podView", () => {
  it("reads a running, ready pod with its annotations", () => {
    const v = podView(
      base(
        {
          phase: "Running",
          podIPs: [{ ip: "10.0.0.5" }, { ip: "fd00::5" }],
          conditions: [{ type: "Ready", status: "True" }],
          containerStatuses: [
            { name: "launcher", started: true, state: { running: { startedAt: "2025-06-01T12:00:05Z" } } },
          ],
        },
        {},
      ),
    );
    expect(v).toMatchObject({
      phase: "Running",
      ready: true,
      launcherStarted: true,
      initialized: true,
      podIPs: ["10.0.0.5", "fd00::5"],
      specHash: "abc",
      startFailures: 2,
      restartedAt: "2025-06-01T11:00:00Z",
      createdAt: Date.parse("2025-06-01T12:00:00Z"),
      startedAt: Date.parse("2025-06-01T12:00:05Z"),
      terminating: false,
    });
  });

  it("reads the marks the control plane leaves on a pod whose node stopped answering", () => {
    const running = {
      name: "launcher",
      started: true,
      state: { running: { startedAt: "2025-06-01T12:00:05Z" } },
    };
    const marked = podView(
      base({
        phase: "Running",
        conditions: [
          { type: "Ready", status: "False" },
          { type: "ContainersReady", status: "True" },
        ],
        containerStatuses: [running],
      }),
    );
    expect(marked.nodeLost).toBe("NotReady");
    const evicted = podView(
      base(
        {
          phase: "Running",
          conditions: [{ type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager" }],
        },
        { deletionTimestamp: "2025-06-01T12:10:00Z" },
      ),
    );
    expect(evicted.nodeLost).toBe("Evicted");
    // The kubelet's own not-ready (the guest's probe failing) turns both conditions False.
    const probe = podView(
      base({
        phase: "Running",
        conditions: [
          { type: "Ready", status: "False" },
          { type: "ContainersReady", status: "False" },
        ],
        containerStatuses: [running],
      }),
    );
    expect(probe.nodeLost).toBeUndefined();
  });

  it("reads why a pending pod is stuck: unschedulable, image pull, init containers", () => {
    const unsched = podView(
      base({
        phase: "Pending",
        conditions: [
          { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes" },
        ],
      }),
    );
    expect(unsched.unschedulable).toBe("0/1 nodes");
    const pull = podView(
      base({
        phase: "Pending",
        conditions: [{ type: "Initialized", status: "False" }],
        initContainerStatuses: [
          { name: "copy-root", state: { waiting: { reason: "ImagePullBackOff", message: "no such image" } } },
        ],
      }),
    );
    expect(pull).toMatchObject({
      initialized: false,
      waiting: { reason: "ImagePullBackOff", message: "no such image" },
    });
    expect(
      podView(
        base({
          phase: "Pending",
          containerStatuses: [{ name: "launcher", state: { waiting: { reason: "ContainerCreating" } } }],
        }),
      ).waiting,
    ).toBeUndefined();
  });

  it("reads how a pod ended, from the launcher or from a failed init container", () => {
    const failed = podView(
      base({
        phase: "Failed",
        containerStatuses: [
          {
            name: "launcher",
            state: {
              terminated: {
                exitCode: 3,
                reason: "Error",
                message: "disk root: ENOSPC\n",
                startedAt: "2025-06-01T12:00:05Z",
                finishedAt: "2025-06-01T12:00:09Z",
              },
            },
          },
        ],
      }),
    );
    expect(failed).toMatchObject({
      finishedAt: Date.parse("2025-06-01T12:00:09Z"),
      startedAt: Date.parse("2025-06-01T12:00:05Z"),
      termination: { exitCode: 3, reason: "Error", message: "disk root: ENOSPC" },
    });
    const init = podView(
      base({
        phase: "Failed",
        initContainerStatuses: [
          {
            name: "netsetup",
            state: { terminated: { exitCode: 1, message: "no eth0", finishedAt: "2025-06-01T12:00:02Z" } },
          },
        ],
      }),
    );
    expect(init.termination).toEqual({ exitCode: 1, message: "netsetup: no eth0" });
    expect(init.startedAt).toBeUndefined();
  });

  it("marks terminating pods and tolerates junk annotations", () => {
    const v = podView(
      base(
        { phase: "Running" },
        { deletionTimestamp: "2025-06-01T12:01:00Z", annotations: { "vireo.dev/start-failures": "x" } },
      ),
    );
    expect(v.terminating).toBe(true);
    expect(v.startFailures).toBe(0);
  });

  it("converts cached timestamps whether strings or Dates", () => {
    expect(toMillis("2025-06-01T12:00:00Z")).toBe(Date.parse("2025-06-01T12:00:00Z"));
    expect(toMillis(new Date(5))).toBe(5);
    expect(toMillis("nope")).toBeUndefined();
    expect(toMillis(undefined)).toBeUndefined();
  });
});
