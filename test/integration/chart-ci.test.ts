// The chart's ci/*-values.yaml cases (the ones `ct lint` lints) installed into a real kube-apiserver, and the
// `helm test` hook checked against a real install: its ServiceAccount and RBAC as the chart renders them, and
// `vireo doctor` run with the hook pod's own arguments, as that ServiceAccount. There is no kubelet and no
// controller-manager here, so the test plays both: it runs the hook's command itself, and it writes the
// operator Deployment's status, with the operator running in-process as the chart's ServiceAccount.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1EnvVar,
  type V1Pod,
} from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadOperatorConfig } from "../../operator/config.ts";
import { startOperator, type OperatorHandle } from "../../operator/operator.ts";
import { createTestNamespace, type Identity, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, repoRoot } from "./operator-kit.ts";

const chartDir = join(repoRoot, "charts/vireo");
const cases = readdirSync(join(chartDir, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();

type Manifest = { kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", rej);
    child.once("close", (code) => res({ code, stdout, stderr }));
  });
}

/** The hook pod's command as this checkout runs it: `node /opt/vireo/bin/vireo.js` is bin/vireo.js here. */
function hookCommand(pod: V1Pod): string[] {
  const command = pod.spec?.containers[0]?.command ?? [];
  expect(command.slice(0, 3)).toEqual(["node", "/opt/vireo/bin/vireo.js", "doctor"]);
  return [join(repoRoot, "bin/vireo.js"), ...command.slice(2)];
}

function containerEnv(env: V1EnvVar[], namespace: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") out[e.name] = namespace;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") out[e.name] = "vireo-operator-test";
    else out[e.name] = "";
  }
  return out;
}

describe("chart ci/ cases and the helm test hook", () => {
  const cp = useControlPlane();
  const made: TestNamespace[] = [];
  const ns = async (prefix: string) => {
    const n = await createTestNamespace(cp().kubeConfig, prefix);
    made.push(n);
    return n;
  };

  afterAll(async () => {
    const cluster = new Cluster(cp().kubeConfig);
    for (const n of made) {
      await cluster.cleanNamespace(n.name).catch(() => {});
      await n.delete();
    }
  });

  it("has the cases ct lint uses", () => {
    expect(cases).toEqual(["default-values.yaml", "emulation-values.yaml", "scoped-values.yaml"]);
  });

  it.each(cases)("installs ci/%s and renders its test hook", async (file) => {
    const name = `ci-${file.replace(/-values\.yaml$/, "")}`;
    const release = await ns(name);
    // The scoped case binds rights in two fixed namespaces; they must exist (a RoleBinding needs its namespace).
    if (file === "scoped-values.yaml")
      for (const watched of ["vireo-ci-team-a", "vireo-ci-team-b"])
        await cp().kubectl(["create", "namespace", watched]);
    await cp().helm(["install", name, chartDir, "-n", release.name, "-f", join(chartDir, "ci", file)], {
      timeoutMs: 180_000,
    });
    expect((await cp().helm(["status", name, "-n", release.name])).stdout).toContain("STATUS: deployed");
    const hooks = manifests((await cp().helm(["get", "hooks", name, "-n", release.name])).stdout);
    const pod = hooks.find((m) => m.kind === "Pod") as unknown as V1Pod;
    expect(pod.metadata?.annotations?.["helm.sh/hook"]).toBe("test");
    const args = pod.spec?.containers[0]?.command ?? [];
    expect(args).toContain(`--operator-namespace=${release.name}`);
    expect(args).toContain(`--operator-deployment=${name}-vireo-operator`);
    expect(args).toContain(`--namespace=${file === "scoped-values.yaml" ? "vireo-ci-team-a" : release.name}`);
    await cp().helm(["uninstall", name, "-n", release.name, "--wait"], { timeoutMs: 120_000 });
  });

  describe("vireo doctor with the hook's arguments, as the hook's ServiceAccount", () => {
    let releaseNs: TestNamespace;
    let operator: OperatorHandle | undefined;
    let testIdentity: Identity;
    let hookPod: V1Pod;

    /** What the controller-manager would write once the operator's pods are ready. */
    const markDeployment = async (available: boolean) => {
      const apps = cp().kubeConfig.makeApiClient(AppsV1Api);
      const d = await apps.readNamespacedDeployment({ namespace: releaseNs.name, name: "vireo-operator" });
      const replicas = d.spec?.replicas ?? 1;
      await apps.patchNamespacedDeploymentStatus(
        {
          namespace: releaseNs.name,
          name: "vireo-operator",
          body: {
            status: {
              observedGeneration: d.metadata?.generation,
              replicas,
              readyReplicas: available ? replicas : 0,
              availableReplicas: available ? replicas : 0,
              conditions: [
                {
                  type: "Available",
                  status: available ? "True" : "False",
                  reason: available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                  message: available ? "Deployment has minimum availability." : "no pod is ready",
                },
              ],
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    };

    beforeAll(async () => {
      releaseNs = await ns("vireo-doctor");
      await cp().helm(["install", "vireo", chartDir, "-n", releaseNs.name, "--set", "emulation=true"], {
        timeoutMs: 180_000,
      });
      // What `helm test` creates before the pod, as the chart renders it.
      const hooks = manifests((await cp().helm(["get", "hooks", "vireo", "-n", releaseNs.name])).stdout);
      hookPod = hooks.find((m) => m.kind === "Pod") as unknown as V1Pod;
      const rest = hooks.filter((m) => m.kind !== "Pod");
      expect(rest.map((m) => m.kind).sort()).toEqual(
        [
          "ClusterRole",
          "ClusterRoleBinding",
          "Role",
          "Role",
          "RoleBinding",
          "RoleBinding",
          "ServiceAccount",
        ].sort(),
      );
      await cp().kubectl(["apply", "-f", "-"], { input: rest.map((m) => JSON.stringify(m)).join("\n") });
      testIdentity = await cp().serviceAccountKubeconfig(releaseNs.name, hookPod.spec!.serviceAccountName!);

      const apps = cp().kubeConfig.makeApiClient(AppsV1Api);
      const deploy = await apps.readNamespacedDeployment({
        namespace: releaseNs.name,
        name: "vireo-operator",
      });
      const env = containerEnv(deploy.spec?.template.spec?.containers[0]?.env ?? [], releaseNs.name);
      const operatorIdentity = await cp().serviceAccountKubeconfig(releaseNs.name, "vireo-operator");
      operator = await startOperator(
        { ...loadOperatorConfig([], env), metricsPort: 0, metricsHost: "127.0.0.1", identity: "doctor-test" },
        operatorIdentity.kubeConfig,
        { logger: pino({ level: process.env.VIREO_TEST_LOG ?? "warn" }) },
      );
    });

    afterAll(async () => {
      await operator?.stop();
      await testIdentity?.dispose();
      await cp().helm(["uninstall", "vireo", "-n", releaseNs.name], { check: false });
      await cp().kubectl(["delete", "clusterrole,clusterrolebinding", "vireo-test"], { check: false });
      await cp().kubectl(["delete", "leases", "--all", "-n", releaseNs.name], { check: false });
    });

    it("passes: CRD established, operator available, a halted VM accepted, reconciled and deleted", async () => {
      await markDeployment(true);
      const res = await run([...hookCommand(hookPod), "--kubeconfig", testIdentity.kubeconfigPath]);
      expect(res.stderr).toBe("");
      const lines = res.stdout.trim().split("\n");
      expect(lines[0]).toBe("ok    CRD virtualmachines.vireo.dev established, v1alpha1 served");
      expect(lines[1]).toMatch(/^ok {4}operator .*\/vireo-operator available, 2\/2 replicas ready$/);
      expect(lines[2]).toBe("ok    a halted VM is accepted and reconciled (Stopped, generation 1)");
      expect(lines[3]).toMatch(/^ok {4}trial VM vireo-doctor-[0-9a-f]{6} deleted$/);
      expect(lines.at(-1)).toBe("vireo doctor: all checks passed");
      expect(res.code).toBe(0);
      const left = (
        await cp().kubectl(["get", "virtualmachines.vireo.dev", "-n", releaseNs.name, "-o", "name"])
      ).stdout.trim();
      expect(left).toBe("");
    });

    it("fails and says which check, when the operator is not available", async () => {
      await markDeployment(false);
      const res = await run([
        ...hookCommand(hookPod),
        "--timeout=2",
        "--kubeconfig",
        testIdentity.kubeconfigPath,
      ]);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(
        /FAIL {2}operator .*vireo-operator: 0\/2 ready, Available False \(MinimumReplicasUnavailable: no pod is ready\) \(timed out\)/,
      );
      expect(res.stdout).toContain("vireo doctor: FAILED");
    });

    it("fails when no operator reconciles the trial VM, and still deletes it", async () => {
      await markDeployment(true);
      await operator?.stop();
      operator = undefined;
      const res = await run([
        ...hookCommand(hookPod),
        "--timeout=3",
        "--kubeconfig",
        testIdentity.kubeconfigPath,
      ]);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain(
        "FAIL  a halted VM is accepted; no status from the operator yet (does it watch this namespace?) (timed out)",
      );
      expect(res.stdout).toMatch(/ok {4}trial VM vireo-doctor-[0-9a-f]{6} deleted/);
    });

    it("vireo version reports the client, the API server and the installed operator", async () => {
      await markDeployment(true);
      const res = await run([join(repoRoot, "bin/vireo.js"), "version", "--kubeconfig", cp().kubeconfigPath]);
      expect(res.code).toBe(0);
      expect(res.stdout.trim().split("\n")).toEqual([
        "Client Version: 0.1.0",
        expect.stringMatching(/^Kubernetes Version: v1\.\d+\.\d+/),
        `Operator Version: 0.1.0 (${releaseNs.name}/vireo-operator, image localhost/vireo-operator:0.1.0, 2/2 ready)`,
      ]);
      // As a user who may not list Deployments cluster-wide: the client version still prints, with the reason.
      const limited = await run([
        join(repoRoot, "bin/vireo.js"),
        "version",
        "--kubeconfig",
        testIdentity.kubeconfigPath,
      ]);
      expect(limited.code).toBe(0);
      expect(limited.stdout).toMatch(/^Client Version: 0\.1\.0\n/);
      expect(limited.stdout).toMatch(/\(cluster: read versions: forbidden: .*deployments/);
    });

    it("grants the hook's ServiceAccount only what doctor needs", async () => {
      const can = async (args: string[]) =>
        (
          await cp().kubectl(
            ["auth", "can-i", ...args, `--as=system:serviceaccount:${releaseNs.name}:vireo-test`],
            {
              check: false,
            },
          )
        ).stdout.trim();
      expect(await can(["get", "customresourcedefinitions/virtualmachines.vireo.dev"])).toBe("yes");
      expect(await can(["get", "customresourcedefinitions/other.example.com"])).toBe("no");
      expect(await can(["get", "deployments/vireo-operator", "-n", releaseNs.name])).toBe("yes");
      expect(await can(["get", "deployments/other", "-n", releaseNs.name])).toBe("no");
      expect(await can(["create", "virtualmachines.vireo.dev", "-n", releaseNs.name])).toBe("yes");
      expect(await can(["patch", "virtualmachines.vireo.dev", "-n", releaseNs.name])).toBe("no");
      expect(await can(["create", "virtualmachines.vireo.dev", "-n", "default"])).toBe("no");
      expect(await can(["list", "secrets", "-n", releaseNs.name])).toBe("no");
      expect(await can(["create", "pods", "-n", releaseNs.name])).toBe("no");
    });
  });
});
