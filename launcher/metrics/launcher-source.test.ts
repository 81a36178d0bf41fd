import { describe, expect, it } from "vitest";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { firmwareLabel, launcherMetricsSource, type LauncherView } from "./launcher-source.ts";

const config: LauncherConfig = launcherConfigSchema.parse({
  version: "v1",
  vm: { namespace: "prod", name: "web", uid: "u" },
  accelerator: { allowEmulation: true },
  machine: "q35",
  cpu: { sockets: 1, cores: 1, threads: 1, model: "host-model" },
  memory: { guestBytes: 2 ** 28 },
  boot: { kind: "uefi", secureBoot: true },
  disks: [],
  interfaces: [],
  devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: true, statsPollSeconds: 10 } },
  terminationGracePeriodSeconds: 30,
  paths: podPaths(""),
  http: { port: 9100 },
});

function view(patch: Partial<LauncherView> = {}): LauncherView {
  return {
    config,
    accelerator: () => "tcg",
    disks: () => [
      {
        name: "root",
        path: "/x",
        format: "raw",
        driver: "file",
        bus: "virtio",
        readOnly: false,
        serial: "root",
        cache: "none",
        aio: "native",
        discard: true,
      },
    ],
    nics: () => [
      {
        name: "default",
        mac: "02:00:00:00:00:01",
        model: "virtio",
        backend: { kind: "tap", ifname: "tap0", vhost: false },
      },
      {
        name: "user",
        mac: "02:00:00:00:00:02",
        model: "virtio",
        backend: { kind: "passt", socketPath: "/s" },
      },
    ],
    qemuPid: () => 42,
    qmp: () => undefined,
    ...patch,
  };
}

describe("launcherMetricsSource", () => {
  it("names the VM from the config and the devices as QEMU knows them", () => {
    const source = launcherMetricsSource(view());
    expect(source.identity()).toEqual({
      namespace: "prod",
      name: "web",
      machine: "q35",
      firmware: "uefi-secureboot",
      accelerator: "tcg",
    });
    expect(source.disks()).toEqual([{ name: "root", deviceId: "disk-root" }]);
    expect(source.nics()).toEqual([
      { name: "default", backend: "tap", tap: "tap0" },
      { name: "user", backend: "passt" },
    ]);
    expect(source.balloonQomPath()).toBe("/machine/peripheral/balloon0");
    expect(launcherMetricsSource(view({ accelerator: () => undefined })).identity().accelerator).toBe(
      "unknown",
    );
  });

  it("passes the collector's timeout to the QMP client and fails fast without one", async () => {
    const calls: unknown[] = [];
    const source = launcherMetricsSource(
      view({
        qmp: () => ({ execute: async (...args: unknown[]) => (calls.push(args), { status: "running" }) }),
      }),
    );
    expect(await source.qmp("query-status", undefined, 1500)).toEqual({ status: "running" });
    expect(calls).toEqual([["query-status", undefined, { timeoutMs: 1500 }]]);
    await expect(launcherMetricsSource(view()).qmp("query-status", undefined, 10)).rejects.toThrow(
      /not connected/,
    );
  });

  it("labels the firmware", () => {
    expect(firmwareLabel({ kind: "bios" })).toBe("bios");
    expect(firmwareLabel({ kind: "uefi", secureBoot: false })).toBe("uefi");
    expect(firmwareLabel({ kind: "kernel", kernelPath: "/k" })).toBe("kernel");
  });
});
