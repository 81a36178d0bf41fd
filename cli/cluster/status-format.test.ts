import { describe, expect, it } from "vitest";
import { formatAge, formatTable, formatVmDetail, formatVmTable } from "./status-format.ts";
import type { VmView } from "./vm-view.ts";

const now = new Date("2025-01-10T12:00:00Z");

const running: VmView = {
  metadata: { name: "web", namespace: "prod", creationTimestamp: "2025-01-10T09:00:00Z", generation: 3 },
  spec: { runStrategy: "Always" },
  status: {
    phase: "Running",
    printableStatus: "Running",
    nodeName: "node-1",
    launcherPod: "vireo-launcher-web",
    ipAddress: "10.0.0.7",
    restartCount: 2,
    observedGeneration: 2,
    interfaces: [{ name: "default", mac: "02:00:00:aa:bb:cc", ips: ["10.0.0.7"] }],
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "PodReady",
        message: "launcher pod is ready",
        lastTransitionTime: "2025-01-10T11:59:00Z",
      },
    ],
  },
};
const halted: VmView = {
  metadata: { name: "db", namespace: "dev", creationTimestamp: "2024-12-01T00:00:00Z" },
  spec: { runStrategy: "Halted" },
};

describe("formatAge", () => {
  it.each([
    ["2025-01-10T11:59:18Z", "42s"],
    ["2025-01-10T11:58:01Z", "119s"],
    ["2025-01-10T11:55:00Z", "5m"],
    ["2025-01-10T11:00:00Z", "60m"],
    ["2025-01-10T02:00:00Z", "10h"],
    ["2025-01-07T12:00:00Z", "3d"],
  ])("%s → %s (kubectl switches unit at 2 of the next: 120s → 2m, 120m → 2h, 48h → 2d)", (from, age) => {
    expect(formatAge(from, now)).toBe(age);
  });
  it("says <unknown> without a time", () => {
    expect(formatAge(undefined, now)).toBe("<unknown>");
    expect(formatAge("garbage", now)).toBe("<unknown>");
  });
});

describe("formatTable", () => {
  it("pads columns and trims trailing space", () => {
    expect(
      formatTable(
        ["A", "LONGER"],
        [
          ["xxxx", "1"],
          ["y", ""],
        ],
      ),
    ).toBe("A      LONGER\nxxxx   1\ny");
  });
});

describe("formatVmTable", () => {
  it("lists VMs like kubectl get", () => {
    expect(formatVmTable([running, halted], { now, wide: false, allNamespaces: false })).toBe(
      [
        "NAME   STATUS    READY   RUNSTRATEGY   NODE     IP         AGE",
        "web    Running   True    Always        node-1   10.0.0.7   3h",
        "db     Stopped   -       Halted        <none>   <none>     40d",
      ].join("\n"),
    );
  });
  it("adds NAMESPACE with -A and the launcher pod with -o wide", () => {
    const text = formatVmTable([running], { now, wide: true, allNamespaces: true });
    expect(text.split("\n")[0]).toBe(
      "NAMESPACE   NAME   STATUS    READY   RUNSTRATEGY   NODE     IP         AGE   LAUNCHER POD         RESTARTS",
    );
    expect(text.split("\n")[1]).toContain("prod        web");
    expect(text.split("\n")[1]).toMatch(/vireo-launcher-web\s+2$/);
  });
});

describe("formatVmDetail", () => {
  it("describes one VM: state, placement, generation lag, interfaces, conditions", () => {
    const text = formatVmDetail(running, now);
    expect(text).toContain("Name:          web\n");
    expect(text).toContain("Status:        Running\n");
    expect(text).toContain("Run strategy:  Always\n");
    expect(text).toContain("Launcher pod:  vireo-launcher-web\n");
    expect(text).toContain("Generation:    3 (observed 2, not yet reconciled)\n");
    expect(text).toContain("  default   02:00:00:aa:bb:cc   10.0.0.7");
    expect(text).toContain("  Ready   True     PodReady   60s   launcher pod is ready");
  });
  it("shows a stopped VM without status", () => {
    const text = formatVmDetail(halted, now);
    expect(text).toContain("Status:        Stopped\n");
    expect(text).toContain("Interfaces:\n  <none>\nConditions:\n  <none>");
  });
});
