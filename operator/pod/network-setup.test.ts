import { describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { buildLauncherPod } from "./build.ts";

function pod(binding: string, networkSetup: "node" | "initContainer", multus = false) {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "vm", namespace: "t", uid: "00000000-0000-4000-8000-000000000002" },
    spec: {
      memory: { guest: "256Mi" },
      interfaces: [{ name: "default", binding }, ...(multus ? [{ name: "storage", binding: "bridge" }] : [])],
      networks: [
        { name: "default", pod: {} },
        ...(multus ? [{ name: "storage", multus: { networkName: "storage-net" } }] : []),
      ],
    },
  });
  return buildLauncherPod(vm, {
    launcherImage: "img",
    imagePullPolicy: "IfNotPresent",
    emulation: true,
    defaultBinding: "bridge",
    networkSetup,
  });
}

describe("networkSetup: node", () => {
  it.each(["bridge", "masquerade"])("drops netsetup for %s and keeps the tun request", (binding) => {
    const p = pod(binding, "node");
    expect(p.spec?.initContainers?.map((c) => c.name) ?? []).not.toContain("netsetup");
    const launcher = p.spec!.containers.find((c) => c.name === "launcher")!;
    expect(launcher.resources?.limits?.["devices.vireo.dev/tun"]).toBe("1");
    expect(launcher.securityContext?.capabilities?.drop).toEqual(["ALL"]);
    expect(pod(binding, "initContainer").spec?.initContainers?.map((c) => c.name)).toContain("netsetup");
  });

  it("gives the launcher the Multus network-status file, which it now sends to the node agent", () => {
    const mounts = (m: ReturnType<typeof pod>) =>
      m.spec!.containers.find((c) => c.name === "launcher")!.volumeMounts?.map((v) => v.mountPath) ?? [];
    expect(mounts(pod("bridge", "node", true))).toContain("/etc/podinfo");
    expect(mounts(pod("bridge", "initContainer", true))).not.toContain("/etc/podinfo");
  });
});
