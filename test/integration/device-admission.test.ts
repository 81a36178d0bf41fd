// The chart's device admission policy (devicePlugin.admissionPolicy) on a real kube-apiserver: a tenant that may
// create pods cannot create one that asks for devices.vireo.dev/*, while the operator's ServiceAccount creates
// its launcher pods (from the operator's own pod builder) and pods without the devices are unaffected.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { buildLauncherPod } from "../../operator/pod/build.ts";
import {
  createTestNamespace,
  eventually,
  kubectl,
  type Identity,
  type TestNamespace,
} from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { repoRoot } from "./operator-kit.ts";

const cp = useControlPlane();
const release = "vireo";

function launcherPod(namespace: string) {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "web", namespace, uid: "00000000-0000-4000-8000-0000000000aa" },
    spec: { memory: { guest: "128Mi" } },
  });
  return buildLauncherPod(vm, {
    launcherImage: "localhost/vireo-launcher:test",
    imagePullPolicy: "IfNotPresent",
    emulation: false,
    defaultBinding: "bridge",
  });
}

const plainPod = (namespace: string, resources: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "probe", namespace },
  spec: {
    containers: [
      {
        name: "c",
        image: "localhost/anything:1",
        ...(Object.keys(resources).length ? { resources: { limits: resources, requests: resources } } : {}),
      },
    ],
  },
});

describe("devicePlugin.admissionPolicy: devices.vireo.dev/* only for the operator's launcher pods", () => {
  let releaseNs: TestNamespace;
  let tenantNs: TestNamespace;
  let tenant: Identity;
  let operatorSa: Identity;

  /** A server-side dry-run create as `who`: "admitted" or the API server's refusal. */
  const create = async (who: Identity | undefined, pod: object) => {
    const res = await kubectl(
      ["create", "--dry-run=server", "-f", "-"],
      who?.kubeconfigPath ?? cp().kubeconfigPath,
      { input: stringify(pod), check: false, scratchDir: cp().dir },
    );
    return res.exitCode === 0 ? "admitted" : res.stderr.trim();
  };

  beforeAll(async () => {
    releaseNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
    tenantNs = await createTestNamespace(cp().kubeConfig, "tenant");
    await cp().helm(
      [
        ...["install", release, join(repoRoot, "charts/vireo"), "--namespace", releaseNs.name],
        ...["--set", "devicePlugin.admissionPolicy.enabled=true"],
      ],
      { timeoutMs: 180_000 },
    );
    await cp().kubectl(["-n", tenantNs.name, "create", "serviceaccount", "tenant"]);
    await cp().kubectl(["-n", tenantNs.name, "create", "role", "pods", "--verb=create", "--resource=pods"]);
    await cp().kubectl([
      ...["-n", tenantNs.name, "create", "rolebinding", "pods", "--role=pods"],
      `--serviceaccount=${tenantNs.name}:tenant`,
    ]);
    tenant = await cp().serviceAccountKubeconfig(tenantNs.name, "tenant");
    operatorSa = await cp().serviceAccountKubeconfig(releaseNs.name, "vireo-operator");
    // The API server loads a new policy asynchronously: wait until it refuses.
    await eventually(
      async () => {
        const answer = await create(tenant, plainPod(tenantNs.name, { "devices.vireo.dev/kvm": "1" }));
        if (answer === "admitted") throw new Error("the policy is not in force yet");
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "device admission policy in force" },
    );
  });

  afterAll(async () => {
    await tenant?.dispose();
    await operatorSa?.dispose();
    if (releaseNs) {
      await cp().helm(["uninstall", release, "--namespace", releaseNs.name], { check: false });
      await releaseNs.delete();
    }
    await tenantNs?.delete();
  });

  it.each(["kvm", "tun", "vhost-net"])(
    "refuses a tenant's pod that asks for devices.vireo.dev/%s",
    async (d) => {
      const answer = await create(tenant, plainPod(tenantNs.name, { [`devices.vireo.dev/${d}`]: "1" }));
      expect(answer).toContain("devices.vireo.dev/* are for Vireo launcher pods");
      expect(answer).toContain(`system:serviceaccount:${tenantNs.name}:tenant may not create`);
    },
  );

  it("refuses a tenant's copy of a real launcher pod, and admits the same pod from the operator", async () => {
    const pod = launcherPod(tenantNs.name);
    expect(await create(tenant, pod)).toContain("devices.vireo.dev/* are for Vireo launcher pods");
    expect(await create(operatorSa, pod)).toBe("admitted");
  });

  it("leaves pods without the devices alone, and a cluster admin may create either", async () => {
    expect(await create(tenant, plainPod(tenantNs.name))).toBe("admitted");
    expect(await create(undefined, plainPod(tenantNs.name, { "devices.vireo.dev/kvm": "1" }))).toBe(
      "admitted",
    );
  });
});
