/**
 * `vireo migrate` on a real kube-apiserver with the generated CRDs: it creates a VirtualMachineMigration,
 * `--cancel` sets spec.cancel on the VM's one migration in progress, and the CRD itself keeps the spec
 * immutable but for cancel. (The operator that carries migrations out is not part of this test.)
 */
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const api = { group: "vireo.dev", version: "v1alpha1" };

function vireo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin/vireo.js"), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", rej);
    child.once("close", (code) => res({ code, stdout, stderr }));
  });
}

describe("vireo migrate", () => {
  const cp = useControlPlane();
  let ns: TestNamespace;
  let custom: CustomObjectsApi;
  let flags: string[];
  type Mig = { metadata: { name: string }; spec: Record<string, unknown> };
  const list = async () =>
    (
      (await custom.listNamespacedCustomObject({
        ...api,
        namespace: ns.name,
        plural: "virtualmachinemigrations",
      })) as { items: Mig[] }
    ).items;

  beforeAll(async () => {
    for (const f of ["vireo.dev_virtualmachines.yaml", "vireo.dev_virtualmachinemigrations.yaml"])
      await cp().kubectl(["apply", "--server-side", "-f", join(repoRoot, "crds", f)]);
    custom = cp().kubeConfig.makeApiClient(CustomObjectsApi);
    ns = await createTestNamespace(cp().kubeConfig, "vireo-migrate");
    await eventually(
      () =>
        custom.listNamespacedCustomObject({ ...api, namespace: ns.name, plural: "virtualmachinemigrations" }),
      {
        timeoutMs: 60_000,
      },
    );
    await cp().kubectl(["apply", "--server-side", "-n", ns.name, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachine",
        metadata: { name: "web" },
        spec: { memory: { guest: "128Mi" } },
      }),
    });
    flags = ["-n", ns.name, "--kubeconfig", cp().kubeconfigPath];
  }, 300_000);
  afterAll(async () => ns?.delete());

  it("creates migrations, refuses an unknown VM, and cancels the one in progress", async () => {
    const a = await vireo(["migrate", "web", "--to-node", "node-2", ...flags]);
    expect(a, a.stderr).toMatchObject({ code: 0 });
    expect(a.stdout).toMatch(/^virtualmachinemigration\/web-migration-\w+ created: VM web → node-2/);
    const [first] = await list();
    expect(first!.spec).toEqual({ vmName: "web", targetNode: "node-2" });

    const missing = await vireo(["migrate", "nope", ...flags]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no VirtualMachine nope");

    // The spec is immutable but for cancel (CEL in the CRD).
    const moved = await cp()
      .kubectl([
        "patch",
        "-n",
        ns.name,
        "vmigration",
        first!.metadata.name,
        "--type=merge",
        "-p",
        '{"spec":{"targetNode":"node-3"}}',
      ])
      .then(
        () => "accepted",
        (err: Error) => err.message,
      );
    expect(moved).toContain("vmName and targetNode are immutable");

    expect((await vireo(["migrate", "web", ...flags])).code).toBe(0);
    const two = await vireo(["migrate", "--cancel", "web", ...flags]);
    expect(two.code).toBe(1);
    expect(two.stderr).toContain("2 migrations in progress");
    // One of them ends (the operator would write this); --cancel then picks the other.
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...api,
        namespace: ns.name,
        plural: "virtualmachinemigrations",
        name: first!.metadata.name,
        body: { status: { phase: "Failed", reason: "NODE_NOT_FOUND" } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const c = await vireo(["migrate", "--cancel", "web", ...flags]);
    expect(c, c.stderr).toMatchObject({ code: 0 });
    const after = await list();
    const other = after.find((m) => m.metadata.name !== first!.metadata.name)!;
    expect(c.stdout).toContain(`virtualmachinemigration/${other.metadata.name} cancel requested`);
    expect(other.spec).toEqual({ vmName: "web", cancel: true });
    expect(after.find((m) => m.metadata.name === first!.metadata.name)!.spec.cancel).toBeUndefined();
  }, 300_000);
});
