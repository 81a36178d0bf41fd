// Proves the harness gives a real control plane: the pinned kube-apiserver behind a real etcd, with RBAC
// and TokenRequest working, the generated CRD accepted and its CEL rules enforced by the server; and that
// the harness fails clearly (component, log path) instead of hanging when something is wrong.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  VersionApi,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import {
  BinaryMissingError,
  CommandTimeoutError,
  ComponentExitedError,
  createTestNamespace,
  eventually,
  externalClusterRequested,
  kubectl,
  pinnedVersions,
  PortInUseError,
  startControlPlane,
  StartTimeoutError,
  type HarnessError,
  type TestNamespace,
} from "../harness/index.ts";
import { freePort } from "../harness/ports.ts";
import { useControlPlane } from "../harness/vitest.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const crdPath = join(repoRoot, "crds/vireo.dev_virtualmachines.yaml");
const crdMissing = !existsSync(crdPath);
const external = externalClusterRequested();
const pinned = pinnedVersions();
const vmApi = { group: "vireo.dev", version: "v1alpha1", plural: "virtualmachines" } as const;

type Manifest = {
  metadata: { name: string; [k: string]: unknown };
  spec: Record<string, unknown>;
  [k: string]: unknown;
};

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Runs `fn` expecting an API error and returns its HTTP status. */
async function apiStatus(fn: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await fn();
  } catch (err) {
    return statusOf(err);
  }
  return 200;
}

/** Decodes a JWT's claims (the signature is the API server's business; it accepted the token). */
function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("the control plane", () => {
  const cp = useControlPlane();

  it.skipIf(external)(
    "serves the pinned Kubernetes version; kubectl and helm are the pinned builds",
    async () => {
      const server = await cp().kubeConfig.makeApiClient(VersionApi).getCode();
      expect(server.gitVersion).toBe(pinned.K8S_VERSION);
      expect(`v${server.major}.${server.minor}`).toBe(pinned.K8S_VERSION.replace(/\.\d+$/, ""));

      const client = JSON.parse((await cp().kubectl(["version", "--client", "-o", "json"])).stdout) as {
        clientVersion: { gitVersion: string };
      };
      expect(client.clientVersion.gitVersion).toBe(pinned.K8S_VERSION);
      expect((await cp().helm(["version", "--template", "{{.Version}}"])).stdout).toBe(pinned.HELM_VERSION);
    },
  );

  it("Helm reads the server's version", async () => {
    const server = await cp().kubeConfig.makeApiClient(VersionApi).getCode();
    const chart = join(cp().dir, "probe-chart");
    await mkdir(join(chart, "templates"), { recursive: true });
    await writeFile(join(chart, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\n");
    await writeFile(
      join(chart, "templates", "cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n",
    );
    // --validate makes `helm template` ask the cluster for its capabilities, version included.
    const rendered = parse((await cp().helm(["template", "probe", chart, "--validate"])).stdout) as {
      data: { kube: string };
    };
    expect(rendered.data.kube).toBe(server.gitVersion);
  });

  describe("RBAC and TokenRequest", () => {
    let ns: TestNamespace;
    beforeAll(async () => {
      ns = await createTestNamespace(cp().kubeConfig, "rbac");
    });
    afterAll(async () => {
      await ns?.delete();
    });

    it("a ServiceAccount without bindings may not list pods; a RoleBinding grants that and no more", async () => {
      const rbac = cp().kubeConfig.makeApiClient(RbacAuthorizationV1Api);
      const core = cp().kubeConfig.makeApiClient(CoreV1Api);
      const sa = await cp().serviceAccountKubeconfig(ns.name, "pod-reader");
      const asSa = sa.kubeConfig.makeApiClient(CoreV1Api);
      try {
        expect(await apiStatus(() => asSa.listNamespacedPod({ namespace: ns.name }))).toBe(403);

        await rbac.createNamespacedRole({
          namespace: ns.name,
          body: {
            metadata: { name: "pod-reader" },
            rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
          },
        });
        await rbac.createNamespacedRoleBinding({
          namespace: ns.name,
          body: {
            metadata: { name: "pod-reader" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
            subjects: [{ kind: "ServiceAccount", name: "pod-reader", namespace: ns.name }],
          },
        });
        // The authorizer sees new bindings through an informer: poll instead of assuming it is instant.
        const pods = await eventually(() => asSa.listNamespacedPod({ namespace: ns.name }), {
          description: "pod-reader may list pods",
        });
        expect(pods.items).toEqual([]);

        expect(await apiStatus(() => asSa.listNamespacedSecret({ namespace: ns.name }))).toBe(403);
        expect(await apiStatus(() => asSa.listNamespacedPod({ namespace: "default" }))).toBe(403);
        const canCreate = await cp().kubectl(["auth", "can-i", "create", "pods", "-n", ns.name], {
          check: false,
        });
        expect(canCreate.stdout.trim()).toBe("yes"); // the admin may
        const saCanCreate = await kubectl(
          ["auth", "can-i", "create", "pods", "-n", ns.name],
          sa.kubeconfigPath,
          {
            check: false,
            scratchDir: cp().dir,
          },
        );
        expect(saCanCreate.stdout.trim()).toBe("no");
      } finally {
        await rbac
          .deleteNamespacedRoleBinding({ namespace: ns.name, name: "pod-reader" })
          .catch(() => undefined);
        await rbac.deleteNamespacedRole({ namespace: ns.name, name: "pod-reader" }).catch(() => undefined);
        await core
          .deleteNamespacedServiceAccount({ namespace: ns.name, name: "pod-reader" })
          .catch(() => undefined);
        await sa.dispose();
      }
    });

    it("TokenRequest issues a token the API server accepts as that ServiceAccount", async () => {
      const sa = await cp().serviceAccountKubeconfig(ns.name, "whoami", { expirationSeconds: 3600 });
      try {
        const claims = jwtClaims(sa.token);
        expect(claims.sub).toBe(`system:serviceaccount:${ns.name}:whoami`);
        expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
        if (!external) expect(claims.iss).toBe("https://kubernetes.default.svc.cluster.local");

        const review = JSON.parse(
          (await kubectl(["auth", "whoami", "-o", "json"], sa.kubeconfigPath, { scratchDir: cp().dir }))
            .stdout,
        ) as { status: { userInfo: { username: string; groups: string[] } } };
        expect(review.status.userInfo.username).toBe(`system:serviceaccount:${ns.name}:whoami`);
        expect(review.status.userInfo.groups).toContain(`system:serviceaccounts:${ns.name}`);
      } finally {
        await cp()
          .kubeConfig.makeApiClient(CoreV1Api)
          .deleteNamespacedServiceAccount({ namespace: ns.name, name: "whoami" })
          .catch(() => undefined);
        await sa.dispose();
      }
    });
  });

  describe.skipIf(crdMissing)(
    crdMissing
      ? "the VirtualMachine CRD (skipped: crds/vireo.dev_virtualmachines.yaml does not exist)"
      : "the VirtualMachine CRD",
    () => {
      let ns: TestNamespace;
      const crdName = "virtualmachines.vireo.dev";
      beforeAll(async () => {
        // Applied, never deleted: on an external cluster it may already hold someone's VMs.
        await cp().kubectl(["apply", "--server-side", "--force-conflicts", "-f", crdPath]);
        ns = await createTestNamespace(cp().kubeConfig, "crd");
      });
      afterAll(async () => {
        await ns?.delete();
      });

      it("is Established and accepted as structural", async () => {
        const ext = cp().kubeConfig.makeApiClient(ApiextensionsV1Api);
        const crd = await eventually(
          async () => {
            const found = await ext.readCustomResourceDefinition({ name: crdName });
            const established = found.status?.conditions?.find((c) => c.type === "Established");
            if (established?.status !== "True")
              throw new Error(`Established is ${established?.status ?? "absent"}`);
            return found;
          },
          { description: `${crdName} Established` },
        );
        const conditions = crd.status?.conditions ?? [];
        expect(conditions.find((c) => c.type === "NamesAccepted")?.status).toBe("True");
        expect(conditions.find((c) => c.type === "NonStructuralSchema")).toBeUndefined();
      });

      const examplesDir = join(repoRoot, "examples");
      const examples = existsSync(examplesDir)
        ? readdirSync(examplesDir).filter((f) => f.endsWith(".yaml"))
        : [];

      it.skipIf(examples.length === 0)("accepts every example in examples/ and reads it back", async () => {
        const objects = cp().kubeConfig.makeApiClient(CustomObjectsApi);
        for (const file of examples) {
          const docs = parseAllDocuments(readFileSync(join(examplesDir, file), "utf8")).map(
            (d) => d.toJS() as Manifest,
          );
          for (const vm of docs.filter((d) => d?.kind === "VirtualMachine")) {
            const body = { ...vm, metadata: { ...vm.metadata, namespace: ns.name } };
            // Right after Established the new resource may take a moment to be served.
            await eventually(
              () => objects.createNamespacedCustomObject({ ...vmApi, namespace: ns.name, body }),
              {
                description: `create ${file}`,
                timeoutMs: 30_000,
              },
            );
            const back = (await objects.getNamespacedCustomObject({
              ...vmApi,
              namespace: ns.name,
              name: vm.metadata.name,
            })) as Manifest;
            expect(back.metadata.name, file).toBe(vm.metadata.name);
            // The server may add schema defaults; everything the example says must come back unchanged.
            expect(back.spec, file).toMatchObject(vm.spec);
            await objects.deleteNamespacedCustomObject({
              ...vmApi,
              namespace: ns.name,
              name: vm.metadata.name,
            });
          }
        }
      });

      it("refuses invalid VMs with the CEL rules' messages (server-side dry run)", async () => {
        const valid = {
          apiVersion: "vireo.dev/v1alpha1",
          kind: "VirtualMachine",
          metadata: { name: "dry-run", namespace: ns.name },
          spec: {
            memory: { guest: "1Gi" },
            disks: [{ name: "root" }],
            volumes: [{ name: "root", persistentVolumeClaim: { claimName: "root" } }],
          },
        };
        const dryRun = (manifest: object) =>
          cp().kubectl(["create", "--dry-run=server", "-f", "-"], {
            input: stringify(manifest),
            check: false,
          });

        const ok = await eventually(
          async () => {
            const result = await dryRun(valid);
            if (result.exitCode !== 0) throw new Error(result.stderr);
            return result;
          },
          { description: "dry-run of a valid VM", timeoutMs: 30_000 },
        );
        expect(ok.stdout).toContain("created (server dry run)");

        const twoFirmwares = await dryRun({
          ...valid,
          spec: { ...valid.spec, firmware: { bios: {}, uefi: {} } },
        });
        expect(twoFirmwares.exitCode).not.toBe(0);
        expect(twoFirmwares.stderr).toContain("firmware must set exactly one of bios, uefi or kernelBoot");

        const diskWithoutVolume = await dryRun({
          ...valid,
          spec: { ...valid.spec, disks: [{ name: "data" }] },
        });
        expect(diskWithoutVolume.exitCode).not.toBe(0);
        expect(diskWithoutVolume.stderr).toContain("every disk needs a volume of the same name");

        const objects = cp().kubeConfig.makeApiClient(CustomObjectsApi);
        const get = () =>
          objects.getNamespacedCustomObject({ ...vmApi, namespace: ns.name, name: "dry-run" });
        expect(await apiStatus(get)).toBe(404); // a dry run stores nothing
      });
    },
  );

  const charts = existsSync(join(repoRoot, "charts"))
    ? readdirSync(join(repoRoot, "charts")).filter((d) =>
        existsSync(join(repoRoot, "charts", d, "Chart.yaml")),
      )
    : [];
  it.skipIf(charts.length === 0)(
    charts.length === 0
      ? "helm lint and template pass on the charts (skipped: no charts/*/Chart.yaml yet)"
      : "helm lint and template pass on the charts",
    async () => {
      for (const chart of charts) {
        const dir = join(repoRoot, "charts", chart);
        await cp().helm(["lint", dir]);
        const rendered = (await cp().helm(["template", "vireo", dir])).stdout;
        expect(parseAllDocuments(rendered).length, chart).toBeGreaterThan(0);
      }
    },
  );
});

/** Pids of processes whose command line mentions `text` (a control plane's directory). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/** Checks a failed start: the error names the component and an existing log; nothing is left running. */
async function expectCleanFailure(err: HarnessError, component: string): Promise<string> {
  expect(err.component).toBe(component);
  expect(err.logPath).toBeDefined();
  const logPath = err.logPath as string;
  expect(err.message).toContain(logPath);
  expect(basename(logPath)).toBe(`${component}.log`);
  expect((await stat(logPath)).isFile()).toBe(true);
  const dir = dirname(dirname(logPath));
  expect(processesMentioning(dir)).toEqual([]);
  expect(existsSync(join(dir, "etcd-data"))).toBe(false);
  expect(existsSync(join(dir, "pki"))).toBe(false);
  const log = await readFile(logPath, "utf8");
  await rm(dir, { recursive: true, force: true });
  return log;
}

async function rejection(promise: Promise<unknown>): Promise<HarnessError> {
  try {
    await promise;
  } catch (err) {
    return err as HarnessError;
  }
  throw new Error("expected a rejection");
}

function listen(port = 0): Promise<Server> {
  return new Promise((resolveListen, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolveListen(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("not listening");
  return address.port;
}

// These start their own broken control planes, which needs the local binaries: skipped against an
// external cluster, where the developer may have built only kubectl and helm.
describe.skipIf(external)("bad input fails clearly and never hangs", () => {
  it("a missing binary names the path and says how to build it", async () => {
    const empty = await mkdtemp(join(tmpdir(), "vireo-nobin-"));
    try {
      const err = await rejection(startControlPlane({ binDir: empty, external: false }));
      expect(err).toBeInstanceOf(BinaryMissingError);
      expect(err.code).toBe("BINARY_MISSING");
      expect(err.message).toContain(join(empty, "etcd"));
      expect(err.message).toContain("scripts/k8s/build.sh");

      const viaRunner = await rejection(kubectl(["version"], undefined, { binDir: empty }));
      expect(viaRunner.code).toBe("BINARY_MISSING");
      expect(viaRunner.message).toContain(join(empty, "kubectl"));
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  for (const [component, portName] of [
    ["kube-apiserver", "apiserver"],
    ["etcd", "etcdClient"],
  ] as const) {
    it(`a port in use names ${component} and its log`, async () => {
      const squatter = await listen();
      try {
        const port = portOf(squatter);
        const err = await rejection(startControlPlane({ ports: { [portName]: port }, external: false }));
        expect(err).toBeInstanceOf(PortInUseError);
        expect(err.code).toBe("PORT_IN_USE");
        expect((err as PortInUseError).port).toBe(port);
        expect(err.message).toContain(`127.0.0.1:${port}`);
        const log = await expectCleanFailure(err, component);
        expect(log).toContain("address already in use");
      } finally {
        squatter.close();
      }
    });
  }

  it("an etcd that exits at start is reported with its exit and log", async () => {
    const err = await rejection(startControlPlane({ extraEtcdArgs: ["--no-such-flag"], external: false }));
    expect(err).toBeInstanceOf(ComponentExitedError);
    expect(err.code).toBe("COMPONENT_EXITED");
    expect(err.message).toMatch(/etcd exited unexpectedly \(exit code \d+\)/);
    const log = await expectCleanFailure(err, "etcd");
    expect(log).toContain("no-such-flag");
  });

  it("an etcd that never gets healthy ends in a deadline naming etcd", async () => {
    const peer = await freePort();
    const ghost = await freePort();
    // A two-member cluster whose second member never appears has no quorum, so etcd runs but is never healthy.
    const err = await rejection(
      startControlPlane({
        ports: { etcdPeer: peer },
        extraEtcdArgs: [
          `--initial-cluster=vireo-test=http://127.0.0.1:${peer},ghost=http://127.0.0.1:${ghost}`,
        ],
        startTimeoutMs: 8_000,
        external: false,
      }),
    );
    expect(err).toBeInstanceOf(StartTimeoutError);
    expect(err.code).toBe("START_TIMEOUT");
    expect(err.message).toContain("etcd was not ready after 8 s");
    await expectCleanFailure(err, "etcd");
  });

  it("etcd dying under a running control plane is reported, and stop() still cleans up", async () => {
    const cp = await startControlPlane({ external: false });
    try {
      const etcdPid = cp.pids.etcd as number;
      expect(processesMentioning(cp.dir).sort()).toEqual([cp.pids.etcd, cp.pids["kube-apiserver"]].sort());
      process.kill(etcdPid, "SIGKILL");
      const err = await eventually(
        async () => {
          try {
            cp.checkAlive();
          } catch (e) {
            return e as HarnessError;
          }
          throw new Error("etcd still reported alive");
        },
        { timeoutMs: 30_000, description: "checkAlive notices etcd died" },
      );
      expect(err).toBeInstanceOf(ComponentExitedError);
      expect(err.component).toBe("etcd");
      expect(err.message).toContain("signal SIGKILL");
      expect(err.logPath).toBe(cp.logs.etcd);
    } finally {
      await cp.stop();
    }
    expect(processesMentioning(cp.dir)).toEqual([]);
    expect(existsSync(cp.dir)).toBe(false);
  });

  it("an external cluster that is not configured or not reachable is reported, not waited for", async () => {
    const saved = process.env.KUBECONFIG;
    const dir = await mkdtemp(join(tmpdir(), "vireo-ext-test-"));
    try {
      delete process.env.KUBECONFIG;
      const unset = await rejection(startControlPlane({ external: true }));
      expect(unset.code).toBe("EXTERNAL_CLUSTER");
      expect(unset.message).toContain("needs KUBECONFIG");

      const server = `https://127.0.0.1:${await freePort()}`; // nothing listens there
      process.env.KUBECONFIG = join(dir, "kubeconfig");
      await writeFile(
        process.env.KUBECONFIG,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "c", cluster: { server } }],
          users: [{ name: "u", user: { token: "x" } }],
          contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
          "current-context": "c",
        }),
      );
      const unreachable = await rejection(startControlPlane({ external: true }));
      expect(unreachable.code).toBe("EXTERNAL_CLUSTER");
      expect(unreachable.message).toContain(`(${server}) does not answer /version`);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a command against a server that never answers is killed at its deadline", async () => {
    const sockets: Socket[] = [];
    const blackhole = await listen();
    blackhole.on("connection", (socket) => sockets.push(socket)); // accept, then say nothing
    const dir = await mkdtemp(join(tmpdir(), "vireo-blackhole-"));
    try {
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(
        kubeconfig,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [
            {
              name: "c",
              cluster: { server: `https://127.0.0.1:${portOf(blackhole)}`, "insecure-skip-tls-verify": true },
            },
          ],
          users: [{ name: "u", user: { token: "x" } }],
          contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
          "current-context": "c",
        }),
      );
      const err = await rejection(
        kubectl(["get", "namespaces"], kubeconfig, { timeoutMs: 3_000, scratchDir: dir }),
      );
      expect(err).toBeInstanceOf(CommandTimeoutError);
      expect(err.code).toBe("COMMAND_TIMEOUT");
      expect(err.message).toContain("within 3000 ms");
    } finally {
      for (const socket of sockets) socket.destroy();
      blackhole.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
