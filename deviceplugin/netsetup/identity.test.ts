import { describe, expect, it } from "vitest";
import { holdersOf, podOfCgroup } from "./identity.ts";

const UID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const CID = "a".repeat(64);

describe("podOfCgroup", () => {
  it("reads the pod UID and container of both cgroup drivers", () => {
    expect(podOfCgroup(`0::/kubepods/besteffort/pod${UID}/${CID}\n`)).toEqual({
      podUid: UID,
      containerId: CID,
    });
    const systemd = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll("-", "_")}.slice/cri-containerd-${CID}.scope\n`;
    expect(podOfCgroup(systemd)).toEqual({ podUid: UID, containerId: CID });
    expect(podOfCgroup(`4:memory:/x/kubepods/pod${UID}/${CID}\n1:cpu:/\n`)).toEqual({
      podUid: UID,
      containerId: CID,
    });
  });

  it("refuses host processes and lines that disagree", () => {
    expect(podOfCgroup("0::/system.slice/sshd.service\n")).toBeUndefined();
    expect(podOfCgroup(`0::/pod${UID}/${CID}\n`)).toBeUndefined();
    const other = "11111111-2222-3333-4444-555555555555";
    expect(
      podOfCgroup(`4:memory:/kubepods/pod${UID}/${CID}\n8:pids:/kubepods/pod${other}/${CID}\n`),
    ).toBeUndefined();
  });
});

describe("holdersOf", () => {
  const dev = (ids: string[]) => [{ resource_name: "devices.vireo.dev/tun", device_ids: ids }];
  const list = {
    pod_resources: [
      { name: "a", namespace: "t1", containers: [{ name: "launcher", devices: dev(["tun-0"]) }] },
      {
        name: "b",
        namespace: "t2",
        containers: [{ name: "x", devices: [{ resource_name: "other/tun", device_ids: ["tun-1"] }] }],
      },
    ],
  };
  it("finds the container holding a slot of the resource, and nothing for another resource's IDs", () => {
    expect(holdersOf(list, "devices.vireo.dev/tun", "tun-0")).toEqual([
      { namespace: "t1", pod: "a", container: "launcher" },
    ]);
    expect(holdersOf(list, "devices.vireo.dev/tun", "tun-1")).toEqual([]);
  });
});
