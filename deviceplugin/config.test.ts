import { describe, expect, it } from "vitest";
import { parseDevicePluginConfig } from "./config.ts";
import { DevicePluginError } from "./errors.ts";

describe("parseDevicePluginConfig", () => {
  it("defaults to the kubelet's directory, /dev, all three resources and 110 slots", () => {
    expect(parseDevicePluginConfig([], {})).toEqual({
      devicePluginDir: "/var/lib/kubelet/device-plugins",
      devDir: "/dev",
      nodeDir: "/var/lib/vireo/device-nodes",
      resources: ["kvm", "tun", "vhost-net"],
      slots: 110,
      pollIntervalMs: 2000,
      healthPort: 9102,
      podLogsDir: "/var/log/pods",
      netsetupStateDir: "/var/lib/vireo/netsetup-state",
      podResourcesSocket: "/var/lib/kubelet/pod-resources/kubelet.sock",
      logLevel: "info",
    });
  });

  it("takes flags over environment", () => {
    const cfg = parseDevicePluginConfig(["--slots", "7", "--resources", "kvm, tun"], {
      VIREO_SLOTS: "9",
      VIREO_DEV_DIR: "/x/dev",
    });
    expect(cfg.slots).toBe(7);
    expect(cfg.resources).toEqual(["kvm", "tun"]);
    expect(cfg.devDir).toBe("/x/dev");
    expect(parseDevicePluginConfig(["--host-node-dir=/var/lib/vireo/n"], {}).hostNodeDir).toBe(
      "/var/lib/vireo/n",
    );
    expect(parseDevicePluginConfig([], { VIREO_NODE_DIR: "/run/n" }).nodeDir).toBe("/run/n");
  });

  it.each([
    [["--slots", "0"], /slots: --slots must be at least 1/],
    [["--slots", "many"], /slots: .*expected number/],
    [["--resources", "gpu"], /resources.0: /],
    [["--dev-dir", "dev"], /devDir: --dev-dir must be an absolute path/],
    [["--node-dir", "n"], /nodeDir: --node-dir must be an absolute path/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
  ])("refuses %j with a message naming the field", (argv, message) => {
    const call = () => parseDevicePluginConfig(argv, {});
    expect(call).toThrow(DevicePluginError);
    expect(call).toThrow(message);
  });
});
