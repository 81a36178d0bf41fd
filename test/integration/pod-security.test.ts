/**
 * Launcher pods against the API server's own PodSecurity admission (built in, the judge users rely on):
 * server-side dry-run creates of pods from the operator's pod builder in namespaces that enforce each
 * level. passt-only and NIC-less VMs have no privileged container and are admitted under `restricted`;
 * so are bridge and masquerade VMs when the node agent plumbs their taps (`networkSetup: "node"`); with
 * the `netsetup` init container (root, NET_ADMIN) only `privileged` admits them.
 */
import { ApiException, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { buildLauncherPod } from "../../operator/pod/build.ts";
import { createTestNamespace, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";

const cp = useControlPlane();

function podFor(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  networkSetup: "node" | "initContainer" = "initContainer",
): V1Pod {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name, namespace, uid: "00000000-0000-4000-8000-000000000001" },
    spec: {
      memory: { guest: "256Mi" },
      disks: [{ name: "root" }, { name: "ci" }],
      volumes: [
        { name: "root", containerDisk: { image: "localhost/guest:1" } },
        { name: "ci", cloudInitNoCloud: { userData: "#cloud-config\n" } },
      ],
      ...spec,
    },
  });
  return buildLauncherPod(vm, {
    launcherImage: "localhost/vireo-launcher:test",
    imagePullPolicy: "IfNotPresent",
    emulation: false,
    defaultBinding: "bridge",
    networkSetup,
  });
}

const nic = (binding: string) => ({
  interfaces: [{ name: "default", binding, ...(binding === "bridge" ? {} : { ports: [{ port: 22 }] }) }],
  networks: [{ name: "default", pod: {} }],
});

/** The API server's answer to a dry-run create: "admitted" or its refusal message. */
async function admission(core: CoreV1Api, pod: V1Pod): Promise<string> {
  try {
    await core.createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod, dryRun: "All" });
    return "admitted";
  } catch (err) {
    if (err instanceof ApiException && err.code === 403) return String(err.body);
    throw err;
  }
}

describe("launcher pods under Pod Security admission", () => {
  let core: CoreV1Api;
  const namespaces: Record<string, TestNamespace> = {};

  beforeAll(async () => {
    core = cp().kubeConfig.makeApiClient(CoreV1Api);
    for (const level of ["restricted", "baseline"]) {
      const ns = await createTestNamespace(cp().kubeConfig, `vireo-pss-${level}`);
      await cp().kubectl(["label", "namespace", ns.name, `pod-security.kubernetes.io/enforce=${level}`]);
      namespaces[level] = ns;
    }
  });

  afterAll(async () => {
    for (const ns of Object.values(namespaces)) await ns.delete();
  });

  it.each([
    ["passt", nic("passt")],
    ["no NIC", { interfaces: [], networks: [] }],
  ])("admits a %s VM's pod under restricted (no netsetup, nothing privileged)", async (_what, spec) => {
    const pod = podFor(namespaces.restricted!.name, "quiet", spec);
    expect(pod.spec?.initContainers?.map((c) => c.name)).not.toContain("netsetup");
    expect(await admission(core, pod)).toBe("admitted");
  });

  it.each(["bridge", "masquerade"])(
    "admits a %s VM's pod under restricted when the node agent sets its network up",
    async (binding) => {
      const pod = podFor(namespaces.restricted!.name, "tapped", nic(binding), "node");
      const names = [...(pod.spec?.initContainers ?? []), ...pod.spec!.containers].map((c) => c.name);
      expect(names).not.toContain("netsetup");
      // It still asks for /dev/net/tun: that allocation is what hands it the node agent's socket.
      const launcher = pod.spec!.containers.find((c) => c.name === "launcher")!;
      expect(launcher.resources?.limits?.["devices.vireo.dev/tun"]).toBe("1");
      expect(await admission(core, pod)).toBe("admitted");
    },
  );

  it.each(["bridge", "masquerade"])(
    "refuses a %s VM's pod with the netsetup init container under restricted and baseline, naming NET_ADMIN",
    async (binding) => {
      for (const level of ["restricted", "baseline"]) {
        const answer = await admission(core, podFor(namespaces[level]!.name, "tapped", nic(binding)));
        expect(answer).toMatch(/violates PodSecurity/);
        expect(answer).toMatch(/netsetup/);
        expect(answer).toMatch(/NET_ADMIN/);
      }
    },
  );
});
