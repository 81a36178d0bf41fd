// CRD upgrades against a real kube-apiserver: Helm installs charts/vireo's crds/ once and never updates them
// (shown here, so the docs stay honest), and the vireo-crds chart, where the CRD is a template, upgrades it.
// A CRD first installed from crds/ is handed over to vireo-crds with `--take-ownership`, as docs/install.md
// says; `helm uninstall vireo-crds` keeps the CRD and the VMs (helm.sh/resource-policy: keep).
// "Old" and "newer" CRDs are the generated one with a field and a printer column taken away or added.
import { cp as copy, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { ApiextensionsV1Api, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createTestNamespace, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, repoRoot } from "./operator-kit.ts";

const crdFile = "vireo.dev_virtualmachines.yaml";
const generated = readFileSync(join(repoRoot, "charts/vireo/crds", crdFile), "utf8");

type Crd = {
  spec: {
    versions: Array<{
      additionalPrinterColumns?: Array<{ name: string }>;
      schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } };
    }>;
  };
};

/** The generated CRD as an older release had it: no spec.priorityClassName, no Node column. */
function olderCrd(): string {
  const crd = parse(generated) as Crd;
  const v = crd.spec.versions[0]!;
  delete v.schema.openAPIV3Schema.properties.spec.properties["priorityClassName"];
  v.additionalPrinterColumns = v.additionalPrinterColumns?.filter((c) => c.name !== "Node");
  return stringify(crd, { lineWidth: 0 });
}

/** The generated CRD as a later release might have it: one more printer column. */
function newerCrd(): string {
  const crd = parse(generated) as Crd & {
    spec: { versions: Array<{ additionalPrinterColumns?: unknown[] }> };
  };
  crd.spec.versions[0]!.additionalPrinterColumns?.push({
    name: "Strategy",
    type: "string",
    jsonPath: ".spec.runStrategy",
  });
  return stringify(crd, { lineWidth: 0 });
}

describe("CRD upgrades", () => {
  const cp = useControlPlane();
  let scratch: string;
  let ns: TestNamespace;
  let oldMain: string;
  let oldCrds: string;
  let newerCrds: string;

  const crd = async () =>
    (await cp()
      .kubeConfig.makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: "virtualmachines.vireo.dev" })) as V1CustomResourceDefinition;
  const specFields = async () =>
    Object.keys(
      (await crd()).spec.versions[0]?.schema?.openAPIV3Schema?.properties?.["spec"]?.properties ?? {},
    );
  const columns = async () =>
    ((await crd()).spec.versions[0]?.additionalPrinterColumns ?? []).map((c) => c.name);
  const established = () =>
    cp().kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/virtualmachines.vireo.dev"]);

  /** A copy of a chart with its CRD file replaced (links followed: vireo-crds' files/ point into charts/vireo). */
  const chartWith = async (chart: string, crdPath: string, text: string) => {
    const dir = join(scratch, `${chart}-${Math.random().toString(36).slice(2, 8)}`);
    await copy(join(repoRoot, "charts", chart), dir, { recursive: true, dereference: true });
    await unlink(join(dir, crdPath));
    await writeFile(join(dir, crdPath), text);
    return dir;
  };

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "vireo-crd-upgrade-"));
    ns = await createTestNamespace(cp().kubeConfig, "vireo-upgrade");
    oldMain = await chartWith("vireo", join("crds", crdFile), olderCrd());
    oldCrds = await chartWith("vireo-crds", join("files", crdFile), olderCrd());
    newerCrds = await chartWith("vireo-crds", join("files", crdFile), newerCrd());
  });

  afterAll(async () => {
    const cluster = new Cluster(cp().kubeConfig);
    await cluster.cleanNamespace(ns.name).catch(() => {});
    for (const release of ["vireo", "vireo-crds"])
      await cp().helm(["uninstall", release, "-n", ns.name], { check: false });
    // Every CRD the charts made (helm.sh/resource-policy keep leaves them after uninstall).
    await cp().kubectl(
      [
        "delete",
        "crd",
        "-l",
        "app.kubernetes.io/name=vireo,app.kubernetes.io/component=crd",
        "--ignore-not-found",
      ],
      // Nine CRDs now, each deleted after the API server has removed its objects: past a minute when the
      // API server is busy (seen in CI).
      { check: false, timeoutMs: 300_000 },
    );
    await cp().kubectl(["delete", "leases", "--all", "-n", ns.name], { check: false });
    await ns.delete();
    await rm(scratch, { recursive: true, force: true });
  });

  it("helm upgrade of charts/vireo leaves a changed CRD in crds/ unapplied (Helm never upgrades crds/)", async () => {
    await cp().helm(["install", "vireo", oldMain, "-n", ns.name, "--set", "emulation=true"], {
      timeoutMs: 180_000,
    });
    await established();
    expect(await specFields()).not.toContain("priorityClassName");
    // An unknown field is pruned from what a user applies: the old CRD silently drops it.
    const cluster = new Cluster(cp().kubeConfig);
    await cluster.createVm(ns.name, "before", { runStrategy: "Halted", priorityClassName: "high" });
    expect((await cluster.vm(ns.name, "before"))?.spec?.["priorityClassName"]).toBeUndefined();

    await cp().helm(["upgrade", "vireo", join(repoRoot, "charts/vireo"), "-n", ns.name, "--reuse-values"], {
      timeoutMs: 180_000,
    });
    expect(await specFields()).not.toContain("priorityClassName");
    expect(await columns()).not.toContain("Node");
  });

  it("vireo-crds refuses a CRD it does not own, and takes it over with --take-ownership", async () => {
    const refused = await cp().helm(["install", "vireo-crds", oldCrds, "-n", ns.name], { check: false });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/exists and cannot be imported into the current release/);

    await cp().helm(["install", "vireo-crds", oldCrds, "-n", ns.name, "--take-ownership"], {
      timeoutMs: 120_000,
    });
    const owned = await crd();
    expect(owned.metadata?.annotations?.["meta.helm.sh/release-name"]).toBe("vireo-crds");
    expect(owned.metadata?.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect(owned.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
  });

  it("helm upgrade of vireo-crds applies the changed CRD; existing VMs stay, new fields are kept", async () => {
    await cp().helm(["upgrade", "vireo-crds", join(repoRoot, "charts/vireo-crds"), "-n", ns.name], {
      timeoutMs: 120_000,
    });
    await established();
    expect(await specFields()).toContain("priorityClassName");
    expect(await columns()).toContain("Node");
    const cluster = new Cluster(cp().kubeConfig);
    expect(await cluster.vm(ns.name, "before")).toBeDefined();
    await cluster.createVm(ns.name, "after", { runStrategy: "Halted", priorityClassName: "high" });
    expect((await cluster.vm(ns.name, "after"))?.spec?.["priorityClassName"]).toBe("high");

    // And the next release's CRD, by helm upgrade again.
    await cp().helm(["upgrade", "vireo-crds", newerCrds, "-n", ns.name], { timeoutMs: 120_000 });
    await established();
    expect(await columns()).toContain("Strategy");
    const table = (await cp().kubectl(["get", "virtualmachines.vireo.dev", "-n", ns.name])).stdout;
    expect(table.split("\n")[0]).toMatch(/STRATEGY/);
    expect(table).toMatch(/after .*Halted/);
  });

  it("helm uninstall of vireo-crds keeps the CRD and every VM", async () => {
    await cp().helm(["uninstall", "vireo-crds", "-n", ns.name], { timeoutMs: 120_000 });
    expect((await crd()).metadata?.name).toBe("virtualmachines.vireo.dev");
    const cluster = new Cluster(cp().kubeConfig);
    expect(await cluster.vm(ns.name, "before")).toBeDefined();
    expect(await cluster.vm(ns.name, "after")).toBeDefined();
  });

  it("a fresh install the documented way: vireo-crds first, then vireo (Helm skips the CRD in its crds/)", async () => {
    const cluster = new Cluster(cp().kubeConfig);
    await cluster.cleanNamespace(ns.name);
    await cp().helm(["uninstall", "vireo", "-n", ns.name, "--wait"], { timeoutMs: 120_000 });
    // The API server itself finalizes a deleted CRD (no controller-manager needed).
    await cp().kubectl(["delete", "crd", "virtualmachines.vireo.dev", "--wait=true", "--timeout=60s"]);

    await cp().helm(["install", "vireo-crds", join(repoRoot, "charts/vireo-crds"), "-n", ns.name], {
      timeoutMs: 120_000,
    });
    await established();
    await cp().helm(
      ["install", "vireo", join(repoRoot, "charts/vireo"), "-n", ns.name, "--set", "emulation=true"],
      { timeoutMs: 180_000 },
    );
    const owned = await crd();
    expect(owned.metadata?.annotations?.["meta.helm.sh/release-name"]).toBe("vireo-crds");
    expect(await columns()).toContain("Node");
    expect((await cp().helm(["status", "vireo", "-n", ns.name])).stdout).toContain("STATUS: deployed");
  });
});
