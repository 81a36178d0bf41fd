// The chart's clone permission policy (dataVolumes.clonePermissionPolicy) on a real kube-apiserver: a DataVolume
// or a VM's dataVolumeTemplate that clones a claim of another namespace is admitted only when its creator may
// `create` `datavolumes/source` in that namespace (CDI's rule), checked by the API server's own authorizer with
// the creator's identity; same-namespace clones and the operator's own DataVolumes are not affected.
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

const dv = (namespace: string, pvc: { namespace?: string; name: string }) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "DataVolume",
  metadata: { name: "copy", namespace },
  spec: { source: { pvc }, storage: { size: "1Gi" } },
});

const vmWithTemplate = (namespace: string, pvc: { namespace?: string; name: string }) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "clone-vm", namespace },
  spec: {
    memory: { guest: "256Mi" },
    disks: [{ name: "root", bootOrder: 1 }],
    volumes: [{ name: "root", dataVolume: { name: "clone-vm-root" } }],
    dataVolumeTemplates: [{ metadata: { name: "clone-vm-root" }, spec: dv(namespace, pvc).spec }],
  },
});

describe("dataVolumes.clonePermissionPolicy: cross-namespace clones need datavolumes/source in the source", () => {
  let releaseNs: TestNamespace;
  let source: TestNamespace;
  let target: TestNamespace;
  let tenant: Identity;
  let operatorSa: Identity;

  /** A server-side dry-run create as `who`: "admitted" or the API server's refusal. */
  const create = async (who: Identity, obj: object) => {
    const res = await kubectl(["create", "--dry-run=server", "-f", "-"], who.kubeconfigPath, {
      input: stringify(obj),
      check: false,
      scratchDir: cp().dir,
    });
    return res.exitCode === 0 ? "admitted" : res.stderr.trim();
  };

  beforeAll(async () => {
    releaseNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
    source = await createTestNamespace(cp().kubeConfig, "golden");
    target = await createTestNamespace(cp().kubeConfig, "tenant");
    await cp().helm(
      [
        ...["install", release, join(repoRoot, "charts/vireo"), "--namespace", releaseNs.name],
        ...["--set", "dataVolumes.clonePermissionPolicy.enabled=true"],
      ],
      { timeoutMs: 180_000 },
    );
    await cp().kubectl(["-n", target.name, "create", "serviceaccount", "tenant"]);
    await cp().kubectl([
      ...["-n", target.name, "create", "role", "make"],
      ...["--verb=create", "--resource=datavolumes.vireo.dev,virtualmachines.vireo.dev"],
    ]);
    await cp().kubectl([
      ...["-n", target.name, "create", "rolebinding", "make", "--role=make"],
      `--serviceaccount=${target.name}:tenant`,
    ]);
    tenant = await cp().serviceAccountKubeconfig(target.name, "tenant");
    operatorSa = await cp().serviceAccountKubeconfig(releaseNs.name, "vireo-operator");
    // The API server loads a new policy asynchronously: wait until it refuses.
    await eventually(
      async () => {
        const answer = await create(tenant, dv(target.name, { namespace: source.name, name: "golden-root" }));
        if (answer === "admitted") throw new Error("the policy is not in force yet");
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "clone permission policy in force" },
    );
  });

  afterAll(async () => {
    await tenant?.dispose();
    await operatorSa?.dispose();
    if (releaseNs) {
      await cp().helm(["uninstall", release, "--namespace", releaseNs.name], { check: false });
      await releaseNs.delete();
    }
    await source?.delete();
    await target?.delete();
  });

  it("refuses a DataVolume and a VM template cloning another namespace's claim without the permission", async () => {
    const from = { namespace: source.name, name: "golden-root" };
    const a = await create(tenant, dv(target.name, from));
    expect(a).toContain(
      `system:serviceaccount:${target.name}:tenant may not clone claims of namespace ${source.name}`,
    );
    expect(a).toContain("datavolumes/source");
    expect(await create(tenant, vmWithTemplate(target.name, from))).toContain(
      `may not clone claims of namespace ${source.name}`,
    );
  });

  it("admits same-namespace clones, and the operator's DataVolumes (their VM was checked)", async () => {
    expect(await create(tenant, dv(target.name, { name: "mine" }))).toBe("admitted");
    expect(await create(tenant, dv(target.name, { namespace: target.name, name: "mine" }))).toBe("admitted");
    expect(await create(operatorSa, dv(target.name, { namespace: source.name, name: "golden-root" }))).toBe(
      "admitted",
    );
  });

  it("admits both once the source namespace grants create on datavolumes/source", async () => {
    await cp().kubectl([
      ...["-n", source.name, "create", "role", "clone-source"],
      ...["--verb=create", "--resource=datavolumes.vireo.dev/source"],
    ]);
    await cp().kubectl([
      ...["-n", source.name, "create", "rolebinding", "tenant-clones", "--role=clone-source"],
      `--serviceaccount=${target.name}:tenant`,
    ]);
    const from = { namespace: source.name, name: "golden-root" };
    await eventually(async () => expect(await create(tenant, dv(target.name, from))).toBe("admitted"), {
      timeoutMs: 30_000,
      description: "the grant is in force",
    });
    expect(await create(tenant, vmWithTemplate(target.name, from))).toBe("admitted");
  });
});
