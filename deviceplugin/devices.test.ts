import { describe, expect, it } from "vitest";
import { allocate, deviceList, slotIds } from "./devices.ts";
import { DevicePluginError } from "./errors.ts";
import { endpointFor, hostDevices } from "./resources.ts";

const [kvm, tun, vhost] = hostDevices({ devDir: "/host/dev/", nodeDir: "/var/lib/vireo/device-nodes/" });

describe("hostDevices", () => {
  it("probes the host's node, hands out the launcher's node, and puts it at the real /dev path", () => {
    expect(
      hostDevices({ devDir: "/dev", nodeDir: "/n" }).map((d) => [
        d.resourceName,
        d.probePath,
        d.hostPath,
        d.containerPath,
      ]),
    ).toEqual([
      ["devices.vireo.dev/kvm", "/dev/kvm", "/n/kvm", "/dev/kvm"],
      ["devices.vireo.dev/tun", "/dev/net/tun", "/n/net/tun", "/dev/net/tun"],
      ["devices.vireo.dev/vhost-net", "/dev/vhost-net", "/n/vhost-net", "/dev/vhost-net"],
    ]);
    expect([tun?.probePath, tun?.nodePath, tun?.hostPath]).toEqual([
      "/host/dev/net/tun",
      "/var/lib/vireo/device-nodes/net/tun",
      "/var/lib/vireo/device-nodes/net/tun",
    ]);
    expect(hostDevices({ devDir: "/dev", nodeDir: "/n" }, ["tun"]).map((d) => d.name)).toEqual(["tun"]);
    const mounted = hostDevices({ devDir: "/host/dev", nodeDir: "/mnt/nodes", hostNodeDir: "/var/lib/v" }, [
      "kvm",
    ])[0];
    expect([mounted?.probePath, mounted?.nodePath, mounted?.hostPath, mounted?.containerPath]).toEqual([
      "/host/dev/kvm",
      "/mnt/nodes/kvm",
      "/var/lib/v/kvm",
      "/dev/kvm",
    ]);
    expect(endpointFor("vhost-net")).toBe("vireo-vhost-net.sock");
  });
});

describe("deviceList", () => {
  it("advertises N distinct slots sharing the node's health", () => {
    const healthy = deviceList(kvm!, 110, true);
    expect(healthy).toHaveLength(110);
    expect(new Set(healthy.map((d) => d.ID)).size).toBe(110);
    expect(healthy[0]).toEqual({ ID: "kvm-0", health: "Healthy" });
    expect(healthy[109]).toEqual({ ID: "kvm-109", health: "Healthy" });
    expect(deviceList(vhost!, 3, false).map((d) => d.health)).toEqual([
      "Unhealthy",
      "Unhealthy",
      "Unhealthy",
    ]);
  });
});

describe("allocate", () => {
  it("answers one rw DeviceSpec per container however many slots it asked for", () => {
    const res = allocate(kvm!, 4, true, {
      container_requests: [{ devices_ids: ["kvm-0", "kvm-3"] }, { devices_ids: ["kvm-1"] }],
    });
    const spec = {
      container_path: "/dev/kvm",
      host_path: "/var/lib/vireo/device-nodes/kvm",
      permissions: "rw",
    };
    expect(res).toEqual({ container_responses: [{ devices: [spec] }, { devices: [spec] }] });
  });

  it("mounts the slot's node network-setup directory read-only, for tun only and only when the agent runs", () => {
    const req = { container_requests: [{ devices_ids: ["tun-3"] }] };
    expect(allocate(tun!, 4, true, req, "/var/lib/vireo/netsetup").container_responses[0]?.mounts).toEqual([
      { container_path: "/run/vireo-node", host_path: "/var/lib/vireo/netsetup/tun-3", read_only: true },
    ]);
    expect(allocate(tun!, 4, true, req).container_responses[0]?.mounts).toBeUndefined();
    const kvmReq = { container_requests: [{ devices_ids: ["kvm-1"] }] };
    expect(
      allocate(kvm!, 4, true, kvmReq, "/var/lib/vireo/netsetup").container_responses[0]?.mounts,
    ).toBeUndefined();
  });

  it("refuses IDs of another resource or beyond the slot count", () => {
    const call = () => allocate(kvm!, 4, true, { container_requests: [{ devices_ids: ["kvm-4", "tun-0"] }] });
    expect(call).toThrow(DevicePluginError);
    expect(call).toThrow(/unknown device IDs kvm-4, tun-0/);
    expect(slotIds(kvm!, 4)).toEqual(["kvm-0", "kvm-1", "kvm-2", "kvm-3"]);
  });

  it("refuses to hand out a node that is missing", () => {
    try {
      allocate(tun!, 2, false, { container_requests: [{ devices_ids: ["tun-0"] }] });
      expect.unreachable();
    } catch (err) {
      expect((err as DevicePluginError).code).toBe("DEVICE_UNHEALTHY");
      expect((err as Error).message).toContain("/host/dev/net/tun is missing");
    }
  });
});
