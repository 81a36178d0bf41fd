// The chart's scheduling policy (schedulingPolicy) on a real kube-apiserver: a tenant may create VMs, but not
// ones that tolerate every taint, select or tolerate control-plane nodes, or ask for a system priority class;
// ordinary scheduling fields pass, a namespace labelled unrestricted is not judged, nor is a cluster admin.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
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
const CP = "node-role.kubernetes.io/control-plane";

const vm = (namespace: string, scheduling: Record<string, unknown>) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "web", namespace },
  spec: { memory: { guest: "128Mi" }, ...scheduling },
});
const required = (key: string, operator: string) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key, operator, ...(operator.endsWith("In") ? { values: ["x"] } : {}) }] },
      ],
    },
  },
});

describe("schedulingPolicy: VMs' scheduling fields restricted per namespace", () => {
  let releaseNs: TestNamespace;
  let tenantNs: TestNamespace;
  let openNs: TestNamespace;
  let tenant: Identity;

  /** A server-side dry-run create as `who` (default: cluster admin): "admitted" or the refusal. */
  const create = async (who: Identity | undefined, obj: object) => {
    const res = await kubectl(
      ["create", "--dry-run=server", "-f", "-"],
      who?.kubeconfigPath ?? cp().kubeconfigPath,
      {
        input: stringify(obj),
        check: false,
        scratchDir: cp().dir,
      },
    );
    return res.exitCode === 0 ? "admitted" : res.stderr.trim();
  };

  beforeAll(async () => {
    releaseNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
    tenantNs = await createTestNamespace(cp().kubeConfig, "tenant");
    openNs = await createTestNamespace(cp().kubeConfig, "infra");
    await cp().kubectl(["label", "namespace", openNs.name, "vireo.dev/scheduling=unrestricted"]);
    await cp().helm(
      [
        ...["install", release, join(repoRoot, "charts/vireo"), "--namespace", releaseNs.name],
        ...["--set", "schedulingPolicy.enabled=true"],
      ],
      { timeoutMs: 180_000 },
    );
    for (const ns of [tenantNs.name, openNs.name]) {
      await cp().kubectl(["-n", ns, "create", "serviceaccount", "tenant"]);
      await cp().kubectl([
        "-n",
        ns,
        "create",
        "role",
        "vms",
        "--verb=create",
        "--resource=virtualmachines.vireo.dev",
      ]);
      await cp().kubectl([
        "-n",
        ns,
        "create",
        "rolebinding",
        "vms",
        "--role=vms",
        `--serviceaccount=${tenantNs.name}:tenant`,
      ]);
    }
    tenant = await cp().serviceAccountKubeconfig(tenantNs.name, "tenant");
    // The CRD and the policy are served asynchronously: wait until the catch-all toleration is refused.
    await eventually(
      async () => {
        const answer = await create(tenant, vm(tenantNs.name, { tolerations: [{ operator: "Exists" }] }));
        if (answer === "admitted" || !answer.includes("tolerates every taint"))
          throw new Error(`not in force: ${answer}`);
      },
      { timeoutMs: 90_000, intervalMs: 500, description: "scheduling policy in force" },
    );
  });

  afterAll(async () => {
    await tenant?.dispose();
    if (releaseNs) {
      await cp().helm(["uninstall", release, "--namespace", releaseNs.name], { check: false });
      await releaseNs.delete();
    }
    await tenantNs?.delete();
    await openNs?.delete();
  });

  it.each([
    ["a toleration without a key", { tolerations: [{ operator: "Exists" }] }, "tolerates every taint"],
    [
      "tolerating the control-plane taint",
      { tolerations: [{ key: CP, operator: "Exists", effect: "NoSchedule" }] },
      `tolerating ${CP} is reserved`,
    ],
    [
      "a control-plane nodeSelector",
      { nodeSelector: { [CP]: "" } },
      `spec.nodeSelector: ${CP} selects reserved nodes`,
    ],
    [
      "a required control-plane node affinity",
      { affinity: required(CP, "Exists") },
      "a term that selects reserved nodes",
    ],
    [
      "system-node-critical",
      { priorityClassName: "system-node-critical" },
      "system-node-critical is reserved",
    ],
    [
      "system-cluster-critical",
      { priorityClassName: "system-cluster-critical" },
      "system-cluster-critical is reserved",
    ],
  ])("refuses a tenant's VM with %s", async (_what, scheduling, message) => {
    expect(await create(tenant, vm(tenantNs.name, scheduling))).toContain(message);
  });

  it("admits ordinary scheduling fields, keeping off control-plane nodes, and no scheduling at all", async () => {
    const ordinary = {
      nodeSelector: { disktype: "ssd" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "vms", effect: "NoSchedule" }],
      affinity: required(CP, "DoesNotExist"),
      priorityClassName: "vm-high",
    };
    expect(await create(tenant, vm(tenantNs.name, ordinary))).toBe("admitted");
    expect(await create(tenant, vm(tenantNs.name, {}))).toBe("admitted");
  });

  it("leaves a namespace labelled unrestricted and a cluster admin alone", async () => {
    const catchAll = { tolerations: [{ operator: "Exists" }], priorityClassName: "system-node-critical" };
    expect(await create(tenant, vm(openNs.name, catchAll))).toBe("admitted");
    expect(await create(undefined, vm(tenantNs.name, catchAll))).toBe("admitted");
  });
});
