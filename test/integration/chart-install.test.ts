// `helm install` of charts/vireo into a real kube-apiserver, then the operator — configured from the chart's
// own Deployment env and authenticated as the chart's own ServiceAccount — reconciles a VM end to end (the
// test plays the kubelet). That proves the chart's RBAC is enough; `kubectl auth can-i` and real requests
// prove it is not more (no Secrets, no Deployments, no exec, Leases only in the release namespace).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { AppsV1Api, CoordinationV1Api, CoreV1Api, type V1EnvVar } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOperatorConfig } from "../../operator/config.ts";
import { startOperator, type OperatorHandle } from "../../operator/operator.ts";
import {
  createTestNamespace,
  eventually,
  kubectl,
  type Identity,
  type TestNamespace,
} from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, condition, expectThat, repoRoot } from "./operator-kit.ts";

const chartDir = join(repoRoot, "charts/vireo");
const release = "vireo";
const saName = "vireo-operator"; // the chart's full name for release "vireo"
const wait = { timeoutMs: 90_000, intervalMs: 250 };

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

/** The Deployment's env as the kubelet would give it to the container (downward-API fields resolved). */
function containerEnv(env: V1EnvVar[], pod: { namespace: string; name: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom === undefined)
      out[e.name] = ""; // the API server drops empty values
    else if (field === "metadata.namespace") out[e.name] = pod.namespace;
    else if (field === "metadata.name") out[e.name] = pod.name;
    else throw new Error(`the test cannot resolve env ${e.name}: ${JSON.stringify(e.valueFrom)}`);
  }
  return out;
}

describe("helm install, then the operator as the chart's ServiceAccount", () => {
  const cp = useControlPlane();
  let releaseNs: TestNamespace;
  let vmNs: TestNamespace;
  let identity: Identity;
  let operator: OperatorHandle | undefined;
  let cluster: Cluster;

  /** The operator container's environment, from an installed Deployment. */
  const chartEnv = async (namespace = releaseNs.name, name = "vireo-operator") => {
    const apps = cp().kubeConfig.makeApiClient(AppsV1Api);
    const deploy = await apps.readNamespacedDeployment({ namespace, name });
    const container = deploy.spec?.template.spec?.containers.find((c) => c.name === "operator");
    return containerEnv(container?.env ?? [], { namespace, name: `${name}-test` });
  };
  const scoped: {
    releaseNs?: TestNamespace;
    vmNs?: TestNamespace;
    identity?: Identity;
    operator?: OperatorHandle;
  } = {};

  const canI = async (args: string[]) => {
    const res = await kubectl(["auth", "can-i", ...args], identity.kubeconfigPath, {
      check: false,
      scratchDir: cp().dir,
    });
    return res.stdout.trim();
  };

  beforeAll(async () => {
    cluster = new Cluster(cp().kubeConfig);
    releaseNs = await createTestNamespace(cp().kubeConfig, "vireo-system");
    vmNs = await createTestNamespace(cp().kubeConfig, "vireo-vms");
    // No controllers run here, so nothing would ever become ready: do not --wait.
    await cp().helm(
      ["install", release, chartDir, "--namespace", releaseNs.name, "--set", "emulation=true"],
      {
        timeoutMs: 180_000,
      },
    );
    await cp().kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/virtualmachines.vireo.dev",
    ]);
    identity = await cp().serviceAccountKubeconfig(releaseNs.name, saName);
  });

  afterAll(async () => {
    await operator?.stop();
    await scoped.operator?.stop();
    if (scoped.vmNs) {
      await cluster.cleanNamespace(scoped.vmNs.name);
      await scoped.vmNs.delete();
    }
    await scoped.identity?.dispose();
    if (scoped.releaseNs) {
      await cp().helm(["uninstall", "scoped", "--namespace", scoped.releaseNs.name], { check: false });
      await cp().kubectl(["delete", "leases", "--all", "-n", scoped.releaseNs.name], { check: false });
      await scoped.releaseNs.delete();
    }
    if (vmNs) {
      await cluster.cleanNamespace(vmNs.name);
      await vmNs.delete();
    }
    await identity?.dispose();
    if (releaseNs) {
      await cp().helm(["uninstall", release, "--namespace", releaseNs.name], { check: false });
      await cp().kubectl(["delete", "leases", "--all", "-n", releaseNs.name], { check: false });
      await releaseNs.delete();
    }
  });

  it("installs the CRD, the operator Deployment, the device-plugin DaemonSet and the RBAC", async () => {
    const status = await cp().helm(["status", release, "--namespace", releaseNs.name]);
    expect(status.stdout).toContain("STATUS: deployed");
    expect(status.stdout).toContain(`kubectl -n ${releaseNs.name} rollout status deployment/vireo-operator`);
    const apps = cp().kubeConfig.makeApiClient(AppsV1Api);
    const deploy = await apps.readNamespacedDeployment({ namespace: releaseNs.name, name: "vireo-operator" });
    expect(deploy.spec?.replicas).toBe(2);
    expect(deploy.spec?.template.spec?.serviceAccountName).toBe(saName);
    const ds = await apps.readNamespacedDaemonSet({ namespace: releaseNs.name, name: "vireo-device-plugin" });
    expect(ds.spec?.template.spec?.containers[0]?.securityContext?.privileged).toBe(false);
    const sa = await cp()
      .kubeConfig.makeApiClient(CoreV1Api)
      .readNamespacedServiceAccount({ namespace: releaseNs.name, name: saName });
    expect(sa.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("Helm");
  });

  it("gives the operator's ServiceAccount what it needs", async () => {
    const yes = [
      ["list", "virtualmachines.vireo.dev", "--all-namespaces"],
      ["watch", "virtualmachines.vireo.dev", "--all-namespaces"],
      ["get", "virtualmachines.vireo.dev", "-n", vmNs.name],
      ["patch", "virtualmachines.vireo.dev", "-n", vmNs.name],
      ["patch", "virtualmachines.vireo.dev", "--subresource=status", "-n", vmNs.name],
      ["update", "virtualmachines.vireo.dev", "--subresource=finalizers", "-n", vmNs.name],
      ["create", "pods", "-n", vmNs.name],
      ["delete", "pods", "-n", vmNs.name],
      // The launcher's control commands (guest agent reads, migrations, online resize): no credentials in pods.
      ["create", "pods", "--subresource=exec", "-n", vmNs.name],
      ["watch", "pods", "--all-namespaces"],
      ["list", "persistentvolumeclaims", "--all-namespaces"],
      ["watch", "persistentvolumeclaims", "--all-namespaces"],
      ["create", "persistentvolumeclaims", "-n", vmNs.name],
      ["delete", "persistentvolumeclaims", "-n", vmNs.name],
      ["create", "events", "-n", vmNs.name],
      ["create", "leases.coordination.k8s.io", "-n", releaseNs.name],
      ["get", "leases.coordination.k8s.io/vireo-operator", "-n", releaseNs.name],
      ["update", "leases.coordination.k8s.io/vireo-operator", "-n", releaseNs.name],
    ];
    for (const args of yes) expect(`${args.join(" ")}: ${await canI(args)}`).toBe(`${args.join(" ")}: yes`);
  });

  it("refuses the operator's ServiceAccount everything else worth trying", async () => {
    const no = [
      ["list", "secrets", "--all-namespaces"],
      ["get", "secrets", "-n", releaseNs.name],
      ["get", "secrets", "-n", vmNs.name],
      ["list", "configmaps", "-n", vmNs.name],
      ["create", "deployments.apps", "-n", releaseNs.name],
      ["update", "pods", "-n", vmNs.name],
      ["patch", "pods", "-n", vmNs.name],
      ["update", "virtualmachines.vireo.dev", "-n", vmNs.name],
      ["update", "virtualmachines.vireo.dev", "--subresource=status", "-n", vmNs.name],
      // create and delete virtualmachines are granted: VirtualMachinePool replicas (docs/instancetypes.md).
      ["delete", "virtualmachineinstancetypes.vireo.dev", "-n", vmNs.name],
      ["create", "virtualmachineclusterinstancetypes.vireo.dev"],
      ["delete", "controllerrevisions.apps", "-n", vmNs.name],
      ["update", "persistentvolumeclaims", "-n", vmNs.name],
      ["list", "nodes"],
      ["create", "leases.coordination.k8s.io", "-n", vmNs.name],
      ["update", "leases.coordination.k8s.io/kube-scheduler", "-n", releaseNs.name],
      ["delete", "leases.coordination.k8s.io/vireo-operator", "-n", releaseNs.name],
      ["create", "rolebindings.rbac.authorization.k8s.io", "-n", releaseNs.name],
      ["escalate", "clusterroles.rbac.authorization.k8s.io"],
    ];
    for (const args of no) expect(`${args.join(" ")}: ${await canI(args)}`).toBe(`${args.join(" ")}: no`);
    // And a real request, not only the authorizer's opinion.
    const core = identity.kubeConfig.makeApiClient(CoreV1Api);
    await expect(core.listSecretForAllNamespaces()).rejects.toMatchObject({ code: 403 });
    const apps = identity.kubeConfig.makeApiClient(AppsV1Api);
    await expect(
      apps.createNamespacedDeployment({
        namespace: releaseNs.name,
        body: {
          metadata: { name: "nope" },
          spec: {
            selector: { matchLabels: { a: "b" } },
            template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } },
          },
        },
      }),
    ).rejects.toMatchObject({ code: 403 });
  });

  it("configures the operator through the env the chart renders", async () => {
    const config = loadOperatorConfig([], await chartEnv());
    expect(config).toMatchObject({
      launcherImage: "localhost/vireo-launcher:0.1.0",
      emulation: true,
      defaultBinding: "bridge",
      namespaces: [],
      metricsPort: 8080,
      leaderElect: true,
      leaseName: "vireo-operator",
      leaseNamespace: releaseNs.name,
      logLevel: "info",
    });
  });

  it("reconciles a VM to a pod and back, acting as that ServiceAccount", async () => {
    const config = loadOperatorConfig([], await chartEnv());
    operator = await startOperator(
      { ...config, metricsPort: 0, metricsHost: "127.0.0.1", identity: "chart-test" },
      identity.kubeConfig,
      { logger: pino({ level: process.env.VIREO_TEST_LOG ?? "warn" }) },
    );
    await eventually(async () => expectThat(operator!.isLeader(), "the operator leads"), wait);
    const lease = await cp()
      .kubeConfig.makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: releaseNs.name, name: "vireo-operator" });
    expect(lease.spec?.holderIdentity).toBe("chart-test");

    const ns = vmNs.name;
    await cluster.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: "web-root" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    });
    await cluster.bindPvc(ns, "web-root");
    await cluster.createVm(ns, "web", {
      disks: [{ name: "root", bootOrder: 1 }],
      volumes: [{ name: "root", persistentVolumeClaim: { claimName: "web-root" } }],
    });
    const pod = await eventually(async () => {
      const p = await cluster.pod(ns, "vireo-launcher-web");
      expectThat(p !== undefined, "launcher pod created");
      return p!;
    }, wait);
    expect(pod.spec?.containers.find((c) => c.name === "launcher")?.image).toBe(
      "localhost/vireo-launcher:0.1.0",
    );
    const vmBefore = await cluster.vm(ns, "web");
    expect(vmBefore?.metadata.finalizers).toContain("vireo.dev/graceful-stop");

    await cluster.bind(ns, "vireo-launcher-web");
    await cluster.podRunning(ns, "vireo-launcher-web");
    const running = await eventually(async () => {
      const vm = await cluster.vm(ns, "web");
      expectThat(
        vm?.status?.printableStatus === "Running" && condition(vm, "Ready")?.status === "True",
        `Running+Ready (${JSON.stringify(vm?.status)})`,
      );
      return vm!;
    }, wait);
    expect(running.status?.launcherPod).toBe("vireo-launcher-web");
    expect(running.status?.nodeName).toBe("node-a");
    const events = await eventually(async () => {
      const list = await cluster.events(ns, "web");
      expectThat(list.length > 0, "events recorded");
      return list;
    }, wait);
    expect(
      events.every(
        (e) => e.source?.component === "vireo-operator" || e.reportingComponent === "vireo-operator",
      ),
    ).toBe(true);

    // Stop with the CLI: the operator (still as the chart's identity) deletes the pod.
    const stop = await vireo(["stop", "web", "-n", ns, "--kubeconfig", cp().kubeconfigPath]);
    expect(stop.stdout.trim()).toBe("VM web stopping (runStrategy Always → Halted)");
    await eventually(async () => {
      const p = await cluster.pod(ns, "vireo-launcher-web");
      expectThat(p?.metadata?.deletionTimestamp !== undefined || p === undefined, "pod deleted");
    }, wait);
    await cluster.finalizePod(ns, "vireo-launcher-web");
    await eventually(async () => {
      const vm = await cluster.vm(ns, "web");
      expectThat(vm?.status?.printableStatus === "Stopped", `Stopped (${vm?.status?.printableStatus})`);
    }, wait);

    // Delete: the operator removes its finalizer once no pod is left.
    await cluster.deleteVm(ns, "web");
    await eventually(async () => expectThat((await cluster.vm(ns, "web")) === undefined, "VM gone"), wait);
  });
  it("with watchNamespaces, binds the rights only there, and the operator works with just those", async () => {
    await operator?.stop();
    operator = undefined;
    scoped.releaseNs = await createTestNamespace(cp().kubeConfig, "vireo-scoped");
    scoped.vmNs = await createTestNamespace(cp().kubeConfig, "vireo-team");
    const ns = scoped.vmNs.name;
    // A second release: the CRD exists already (Helm skips it), every other name carries the release.
    await cp().helm(
      [
        "install",
        "scoped",
        chartDir,
        "--namespace",
        scoped.releaseNs.name,
        "--set",
        "emulation=true",
        "--set",
        "devicePlugin.enabled=false",
        "--set",
        `operator.watchNamespaces={${ns}}`,
        // The cluster-wide shipped instancetypes and preferences belong to the first release.
        "--set",
        "commonProfiles.enabled=false",
      ],
      { timeoutMs: 180_000 },
    );
    scoped.identity = await cp().serviceAccountKubeconfig(scoped.releaseNs.name, "scoped-vireo-operator");
    const can = async (args: string[]) =>
      (
        await kubectl(["auth", "can-i", ...args], scoped.identity!.kubeconfigPath, {
          check: false,
          scratchDir: cp().dir,
        })
      ).stdout.trim();
    expect(await can(["list", "virtualmachines.vireo.dev", "-n", ns])).toBe("yes");
    expect(await can(["create", "pods", "-n", ns])).toBe("yes");
    expect(await can(["list", "virtualmachines.vireo.dev", "--all-namespaces"])).toBe("no");
    expect(await can(["create", "pods", "-n", vmNs.name])).toBe("no");

    const config = loadOperatorConfig([], await chartEnv(scoped.releaseNs.name, "scoped-vireo-operator"));
    expect(config.namespaces).toEqual([ns]);
    scoped.operator = await startOperator(
      { ...config, metricsPort: 0, metricsHost: "127.0.0.1", identity: "scoped-test" },
      scoped.identity.kubeConfig,
      { logger: pino({ level: process.env.VIREO_TEST_LOG ?? "warn" }) },
    );
    await eventually(async () => expectThat(scoped.operator!.isLeader(), "the scoped operator leads"), wait);
    await cluster.createVm(ns, "team-vm", { runStrategy: "Always" });
    await cluster.createVm(vmNs.name, "outside", { runStrategy: "Always" });
    await eventually(
      async () =>
        expectThat(
          (await cluster.pod(ns, "vireo-launcher-team-vm")) !== undefined,
          "pod in the watched namespace",
        ),
      wait,
    );
    // Outside its namespaces it neither can nor tries: no pod, no status.
    const outside = await cluster.vm(vmNs.name, "outside");
    expect(outside?.status).toBeUndefined();
    expect(await cluster.pod(vmNs.name, "vireo-launcher-outside")).toBeUndefined();
  });
});
