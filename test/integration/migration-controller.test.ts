/**
 * The migration controller (operator/migration/controller.ts) on a real kube-apiserver, moving a real guest
 * between two real launchers in two network namespaces. The test plays what this control plane lacks: the
 * VM reconciler (the VM's status, its source pod), the scheduler (binding the target pod to a node its
 * affinity allows) and the kubelet (starting the launcher a pod names, with the pod's own filesystem, and
 * reporting its status); `pods/exec` is `vireo-launcher migrate …` run against the pod's launcher. Bad input is
 * refused with a reason and an Event and starts nothing.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATION_LAUNCHER_CONFIG, podPaths } from "../../crds/contract/index.ts";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { KubeClient, PATCH } from "../../lib/kube/client.ts";
import { systemClock } from "../../lib/clock.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { reconcileMigration, type MigrationControllerDeps } from "../../operator/migration/controller.ts";
import { migrationMetrics } from "../../operator/migration/metrics.ts";
import { Registry } from "prom-client";
import type { VmEvent } from "../../operator/kube/events.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { freePort } from "../harness/ports.ts";
import { COUNTER_SCRIPT, createPodPair, lastTick, type PodPair } from "./migration-kit.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(repo, "bin/vireo-launcher.js");
const MiB = 2 ** 20;
const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), "vireo-migration-controller-"));
const children: ChildProcess[] = [];
const consoles: SerialConsole[] = [];
let pair: PodPair | undefined;

afterAll(async () => {
  for (const c of consoles) c.close();
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
      await new Promise((r) => c.once("exit", r));
    }
  pair?.remove();
  rmSync(root, { recursive: true, force: true });
});

async function launcherConfig(claimDir: string): Promise<LauncherConfig> {
  const { kernel, initramfs } = guestArtifacts();
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "test", name: "web", uid: "3a1f0c7e-5b2d-4e6f-8a9b-0c1d2e3f4a5b" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
    memory: { guestBytes: 128 * MiB },
    boot: { kind: "kernel", kernelPath: kernel, initrdPath: initramfs, cmdline: "console=ttyS0" },
    disks: [
      {
        name: "root",
        bus: "virtio",
        readOnly: false,
        serial: "data1",
        source: { kind: "pvcFilesystem", mountPath: claimDir, capacityBytes: 16 * MiB, claimName: "shared" },
      },
    ],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: false, statsPollSeconds: 0 } },
    terminationGracePeriodSeconds: 30,
    paths: podPaths(join(root, "pod-source")),
    http: { port: await freePort() },
  });
}

/** The "kubelet": starts the launcher of a pod in a namespace and remembers its run dir and exit. */
const kubelet = new Map<
  string,
  { config: LauncherConfig; exited: Promise<number | null>; termLog: string }
>();
function startLauncher(pod: string, netns: string, config: LauncherConfig) {
  const cfg = join(root, `${pod}.json`);
  writeFileSync(cfg, JSON.stringify(config));
  const termLog = join(root, `${pod}.termination`);
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, BIN, "--config", cfg, "--termination-log", termLog],
    { env: { ...process.env, VIREO_ACCEL: "tcg" }, stdio: "ignore" },
  );
  children.push(child);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  kubelet.set(pod, { config, exited, termLog });
}

describe("migration controller on a real API server, with real launchers", () => {
  const cp = useControlPlane();
  let ns: TestNamespace;
  let client: KubeClient;
  const events: { name: string; e: VmEvent }[] = [];
  let deps: MigrationControllerDeps;
  const registry = new Registry();
  const api = (p: string) => `/apis/vireo.dev/v1alpha1/namespaces/${ns.name}/${p}`;
  const core = (p: string) => `/api/v1/namespaces/${ns.name}/${p}`;
  const post = (path: string, body: object) => client.request("POST", path, { body });
  const patchStatus = (path: string, status: object) =>
    client.request("PATCH", `${path}/status`, { body: { status }, contentType: PATCH.merge });
  type Mig = {
    status?: {
      phase?: string;
      reason?: string;
      progress?: Record<string, number>;
      target?: { node?: string };
    };
  };
  const migration = (name: string) => client.request<Mig>("GET", api(`virtualmachinemigrations/${name}`));
  const migrate = async (name: string, spec: object) => {
    await post(api("virtualmachinemigrations"), {
      apiVersion: "vireo.dev/v1alpha1",
      kind: "VirtualMachineMigration",
      metadata: { name },
      spec,
    });
    return reconcileMigration(deps, ns.name, name);
  };

  beforeAll(async () => {
    for (const f of ["vireo.dev_virtualmachines.yaml", "vireo.dev_virtualmachinemigrations.yaml"])
      await cp().kubectl(["apply", "--server-side", "-f", join(repo, "crds", f)]);
    client = await KubeClient.connect(cp().kubeConfig);
    ns = await createTestNamespace(cp().kubeConfig, "vireo-migctl");
    await eventually(() => client.request("GET", api("virtualmachinemigrations")), { timeoutMs: 60_000 });
    for (const [name, unschedulable] of [
      ["mig-node-1", false],
      ["mig-node-2", false],
      ["mig-node-3", true],
    ] as const)
      await client
        .request("POST", "/api/v1/nodes", { body: { metadata: { name }, spec: { unschedulable } } })
        .catch(() => {});
    deps = {
      metrics: migrationMetrics(registry),
      client,
      clock: systemClock,
      defaultBinding: "bridge",
      events: { record: (ref, e) => events.push({ name: ref.name, e }) },
      exec: async (pod: V1Pod, args: string[]) => {
        const l = kubelet.get(pod.metadata!.name!);
        if (!l) throw new Error(`no launcher for pod ${pod.metadata!.name}`);
        return (await run(process.execPath, [BIN, ...args, "--run-dir", l.config.paths.runDir])).stdout;
      },
    };
  }, 300_000);
  afterAll(async () => {
    for (const n of ["mig-node-1", "mig-node-2", "mig-node-3"])
      await client?.request("DELETE", `/api/v1/nodes/${n}`).catch(() => {});
    await ns?.delete();
  });

  it("migrates a running VM: target created off the source node, guest moved, Succeeded with QEMU's figures", async () => {
    pair = createPodPair(`C${process.pid % 10000}`, 70);
    const claimDir = join(root, "claim");
    mkdirSync(claimDir);
    const config = await launcherConfig(claimDir);
    // The "VM reconciler": the VM, its RWX claim, its launcher pod on node 1.
    await post(core("persistentvolumeclaims"), {
      metadata: { name: "shared" },
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "16Mi" } } },
    });
    const vmSpec = {
      memory: { guest: "128Mi" },
      disks: [{ name: "root" }],
      volumes: [{ name: "root", persistentVolumeClaim: { claimName: "shared" } }],
      interfaces: [{ name: "default", binding: "masquerade" }],
    };
    for (const name of ["web", "db", "off"]) {
      const spec =
        name === "db" ? { ...vmSpec, volumes: [{ name: "root", containerDisk: { image: "x" } }] } : vmSpec;
      await post(api("virtualmachines"), {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachine",
        metadata: { name },
        spec,
      });
      if (name !== "off")
        await patchStatus(api(`virtualmachines/${name}`), {
          phase: "Running",
          launcherPod: `vireo-launcher-${name}`,
        });
    }
    for (const name of ["web", "db"]) {
      await post(core("pods"), {
        metadata: {
          name: `vireo-launcher-${name}`,
          labels: { "vireo.dev/vm": name },
          annotations: { [ANNOTATION_LAUNCHER_CONFIG]: JSON.stringify(config) },
        },
        spec: { nodeName: "mig-node-1", containers: [{ name: "launcher", image: "vireo-launcher" }] },
      });
      await patchStatus(core(`pods/vireo-launcher-${name}`), { phase: "Running", podIP: pair.source.ip });
    }
    startLauncher("vireo-launcher-web", pair.source.netns, config);
    const sc = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 120_000,
    });
    consoles.push(sc);
    await sc.waitForReady(180_000);
    await sc.waitForShell(60_000);
    const bootId = (await sc.check("cat /proc/sys/kernel/random/boot_id", 60_000)).trim();
    await sc.check(COUNTER_SCRIPT, 60_000);
    await sc.waitFor(/^TICK 3 /m, 60_000);

    // Bad input: refused with a reason and a Warning Event; nothing is created.
    await migrate("m-unknown", { vmName: "nope" });
    await migrate("m-off", { vmName: "off" });
    await migrate("m-db", { vmName: "db" });
    await migrate("m-nonode", { vmName: "web", targetNode: "no-such-node" });
    await migrate("m-cordoned", { vmName: "web", targetNode: "mig-node-3" });
    await migrate("m1", { vmName: "web" });
    await migrate("m-second", { vmName: "web" });
    const refused = {
      "m-unknown": "VM_NOT_FOUND",
      "m-off": "VM_NOT_RUNNING",
      "m-db": "NOT_MIGRATABLE",
      "m-nonode": "NODE_NOT_FOUND",
      "m-cordoned": "NODE_UNSCHEDULABLE",
      "m-second": "ALREADY_MIGRATING",
    };
    for (const [name, reason] of Object.entries(refused)) {
      expect((await migration(name)).status).toMatchObject({ phase: "Failed", reason });
      expect(events).toContainEqual({
        name,
        e: expect.objectContaining({ type: "Warning", reason: "MigrationFailed" }),
      });
    }
    const podNames = async () =>
      (await client.request<{ items: V1Pod[] }>("GET", core("pods"))).items
        .map((p) => p.metadata!.name!)
        .sort();
    expect(await podNames()).toEqual(["vireo-launcher-db", "vireo-launcher-web"]);
    expect((await migration("m1")).status?.phase).toBe("Pending");

    // The queue: reconcile m1 while the "scheduler" and "kubelet" do their part.
    const t0 = Date.now();
    let targetStarted = false;
    let sourceReported = false;
    await eventually(
      async () => {
        await reconcileMigration(deps, ns.name, "m1");
        const target = await client
          .request<V1Pod>("GET", core("pods/vireo-target-m1"))
          .catch(() => undefined);
        if (target && !target.spec?.nodeName) {
          const term =
            target.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!
              .nodeSelectorTerms[0]!;
          expect(term.matchExpressions).toContainEqual({
            key: "kubernetes.io/hostname",
            operator: "NotIn",
            values: ["mig-node-1"],
          });
          await post(core("pods/vireo-target-m1/binding"), {
            metadata: { name: "vireo-target-m1" },
            target: { kind: "Node", name: "mig-node-2" },
          });
        }
        if (target && !targetStarted) {
          targetStarted = true;
          const tconfig = launcherConfigSchema.parse({
            ...JSON.parse(target.metadata!.annotations![ANNOTATION_LAUNCHER_CONFIG]!),
            // The pod's own filesystem (the kubelet gives each pod its own).
            paths: podPaths(join(root, "pod-target")),
            http: { port: await freePort() },
          });
          expect(tconfig.migration).toEqual({ incoming: true });
          startLauncher("vireo-target-m1", pair!.target.netns, tconfig);
        }
        const t = kubelet.get("vireo-target-m1");
        if (
          t &&
          target?.status?.phase !== "Running" &&
          existsSync(runtimeFiles(t.config.paths).controlSocket)
        )
          await patchStatus(core("pods/vireo-target-m1"), { phase: "Running", podIP: pair!.target.ip });
        const s = kubelet.get("vireo-launcher-web")!;
        const code = await Promise.race([
          s.exited,
          new Promise<"running">((r) => setTimeout(() => r("running"), 10)),
        ]);
        if (code !== "running" && !sourceReported) {
          sourceReported = true;
          await patchStatus(core("pods/vireo-launcher-web"), {
            phase: code === 0 ? "Succeeded" : "Failed",
            containerStatuses: [
              {
                name: "launcher",
                ready: false,
                restartCount: 0,
                image: "vireo-launcher",
                imageID: "",
                state: { terminated: { exitCode: code ?? 137, message: readFileSync(s.termLog, "utf8") } },
              },
            ],
          });
        }
        const phase = (await migration("m1")).status?.phase;
        if (phase !== "Succeeded" && phase !== "Failed") throw new Error(`m1 is ${phase}`);
      },
      { timeoutMs: 400_000, intervalMs: 500 },
    );
    const m1 = await migration("m1");
    expect(m1.status, JSON.stringify(m1.status)).toMatchObject({
      phase: "Succeeded",
      target: { node: "mig-node-2" },
    });
    expect(m1.status!.progress!.transferredBytes).toBeGreaterThan(0);
    expect(m1.status!.progress!.downtimeMilliseconds).toBeGreaterThanOrEqual(0);
    expect(events.filter((e) => e.name === "m1").map((e) => e.e.reason)).toEqual([
      "MigrationAccepted",
      "TargetCreated",
      "TargetReady",
      "MigrationStarted",
      "MigrationSucceeded",
    ]);

    // Metrics: six refusals and one success, its downtime in a sub-second bucket, its bytes.
    const text = await registry.metrics();
    expect(text).toContain('vireo_operator_migrations_total{result="Failed"} 6');
    expect(text).toContain('vireo_operator_migrations_total{result="Succeeded"} 1');
    expect(text).toContain("vireo_operator_migration_downtime_seconds_count 1");
    expect(text).toContain('vireo_operator_migration_downtime_seconds_bucket{le="1"} 1');
    expect(text).toContain(
      `vireo_operator_migration_transferred_bytes_total ${m1.status!.progress!.transferredBytes}`,
    );
    expect(text).not.toMatch(/vireo_operator_migration_started_timestamp_seconds\{/);

    // With the result written, the source pod that handed over goes; the target pod stays.
    await reconcileMigration(deps, ns.name, "m1");
    expect(await podNames()).toEqual(["vireo-launcher-db", "vireo-target-m1"]);

    // The guest goes on in the target pod: same boot, the counter continues.
    const before = lastTick(sc.transcript)!;
    const tc = await SerialConsole.connect(
      runtimeFiles(kubelet.get("vireo-target-m1")!.config.paths).consoleSocket,
    );
    consoles.push(tc);
    const after = await eventually(
      async () => {
        const t = lastTick(tc.transcript);
        if (!t || t.n <= before.n) throw new Error(`no tick above ${before.n} yet`);
        return t;
      },
      { timeoutMs: 60_000 },
    );
    expect(after.n).toBeLessThan(before.n + 100);
    expect((await tc.check("cat /proc/sys/kernel/random/boot_id", 60_000)).trim()).toBe(bootId);
    console.log(
      `migration controller: ${Date.now() - t0} ms to Succeeded; status ${JSON.stringify(m1.status)}`,
    );
  }, 600_000);
});
