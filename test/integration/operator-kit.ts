// Helpers for the operator's integration tests: the CRD, VMs through client-node (not through the code under
// test), and a stand-in kubelet that moves launcher pods through their lifecycle by writing pod status.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { pausedAnnotationPatch } from "../../cli/cluster/pause-mark.ts";
import type { VmView } from "../../cli/cluster/vm-view.ts";
import type { VmStatus } from "../../crds/api/status.ts";
import { parse } from "yaml";
import { startOperator, type OperatorHandle } from "../../operator/operator.ts";
import type { OperatorConfigInput } from "../../operator/config.ts";
import { eventually, type ControlPlane } from "../harness/index.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const vmApi = { group: "vireo.dev", version: "v1alpha1", plural: "virtualmachines" } as const;

/** A VM as read back from the API. */
export interface ApiVm {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    finalizers?: string[];
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
  status?: VmStatus;
}

/** Installs the generated CRD and waits until it serves. */
export async function installCrd(cp: ControlPlane): Promise<void> {
  await cp.kubectl(["apply", "--server-side", "-f", join(repoRoot, "crds/vireo.dev_virtualmachines.yaml")]);
  // Right after the create kubectl wait can read a CRD without status.conditions and fail at once; retry.
  await eventually(
    () =>
      cp.kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/virtualmachines.vireo.dev"]),
    { timeoutMs: 60_000, intervalMs: 200, description: "the CRD is established" },
  );
}

function stripRules(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripRules);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k]) => k !== "x-kubernetes-validations")
      .map(([k, v]) => [k, stripRules(v)]),
  );
}

/**
 * Runs `create` while the API server serves the CRD without its CEL rules, as after an upgrade in which Helm
 * left an older CRD in place: how a VM the operator's schema refuses (InvalidSpec) can still be stored. The
 * real CRD is back when it resolves; CRD validation ratcheting keeps the stored object writable.
 */
export async function underCrdWithoutRules<T>(cp: ControlPlane, create: () => Promise<T>): Promise<T> {
  const crd = parse(readFileSync(join(repoRoot, "crds/vireo.dev_virtualmachines.yaml"), "utf8")) as unknown;
  const apply = (doc: unknown) =>
    cp.kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], { input: JSON.stringify(doc) });
  await apply(stripRules(crd));
  try {
    // The API server picks up a changed CRD asynchronously: retry until the create goes through.
    return await eventually(create, {
      timeoutMs: 30_000,
      intervalMs: 200,
      description: "created without CEL",
    });
  } finally {
    await apply(crd);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

function is404(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** VM, pod and event access for tests. */
export class Cluster {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** Creates a VM from a short spec. */
  async createVm(
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
    metadata: Record<string, unknown> = {},
  ): Promise<ApiVm> {
    return (await this.custom.createNamespacedCustomObject({
      ...vmApi,
      namespace,
      body: {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachine",
        metadata: { name, ...metadata },
        spec: { memory: { guest: "256Mi" }, ...spec },
      },
    })) as ApiVm;
  }

  /** Reads a VM; undefined when gone. */
  async vm(namespace: string, name: string): Promise<ApiVm | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...vmApi, namespace, name })) as ApiVm;
    } catch (err) {
      if (is404(err)) return undefined;
      throw err;
    }
  }

  /** JSON-merge-patches a VM (spec, metadata). */
  async patchVm(namespace: string, name: string, patch: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { ...vmApi, namespace, name, body: patch },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  /** What `vireo pause` records after pausing the guest in the launcher pod `podUid` (the CLI's own patch). */
  async recordPause(namespace: string, name: string, podUid: string | undefined): Promise<void> {
    const vm = await this.vm(namespace, name);
    const patch = pausedAnnotationPatch({ metadata: vm!.metadata } as VmView, "pause", podUid);
    if (patch) await this.patchVm(namespace, name, patch);
  }

  /** Deletes a VM (404 is fine). */
  async deleteVm(namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({ ...vmApi, namespace, name });
    } catch (err) {
      if (!is404(err)) throw err;
    }
  }

  /** Launcher pods in a namespace. */
  async pods(namespace: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector: "vireo.dev/vm" })).items;
  }

  /** A pod; undefined when gone. */
  async pod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (err) {
      if (is404(err)) return undefined;
      throw err;
    }
  }

  /** Events about one object. */
  async events(namespace: string, name: string): Promise<CoreV1Event[]> {
    const list = await this.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name}`,
    });
    return list.items;
  }

  /** Deletes every VM, then every pod, so the namespace can go (no controller-manager here). */
  async cleanNamespace(namespace: string): Promise<void> {
    const list = (await this.custom.listNamespacedCustomObject({ ...vmApi, namespace })) as {
      items: ApiVm[];
    };
    for (const vm of list.items) {
      await this.patchVm(namespace, vm.metadata.name, { metadata: { finalizers: null } }).catch(() => {});
      await this.deleteVm(namespace, vm.metadata.name);
    }
    await this.core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => {});
    await this.core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace }).catch(() => {});
  }

  // --- the stand-in kubelet ---

  /** Schedules a pod onto `node` (the node need not exist); its deletion then waits for a "kubelet". */
  async bind(namespace: string, name: string, node = "node-a"): Promise<void> {
    await this.core.createNamespacedPodBinding({
      namespace,
      name,
      body: { metadata: { name }, target: { apiVersion: "v1", kind: "Node", name: node } },
    });
  }

  async #status(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.core.patchNamespacedPodStatus(
      { namespace, name, body: { status } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  /** The launcher runs; `ready` sets the Ready condition, `started` the container's started flag. */
  async podRunning(
    namespace: string,
    name: string,
    opts: { ready?: boolean; started?: boolean; ip?: string; startedAt?: Date } = {},
  ): Promise<void> {
    const ready = opts.ready ?? true;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const startedAt = (opts.startedAt ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
    const ip = opts.ip ?? "10.244.0.7";
    await this.#status(namespace, name, {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: "192.168.0.10",
      startTime: startedAt,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
        { type: "Initialized", status: "True", lastTransitionTime: now },
        { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: now },
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now },
      ],
      containerStatuses: [
        {
          name: "launcher",
          image: "launcher",
          imageID: "",
          ready,
          started: opts.started ?? ready,
          restartCount: 0,
          state: { running: { startedAt } },
        },
      ],
    });
  }

  /** The launcher exited: Succeeded (guest powered off) or Failed, after running `ranSeconds`. */
  async podEnded(
    namespace: string,
    name: string,
    phase: "Succeeded" | "Failed",
    opts: { ranSeconds?: number; message?: string } = {},
  ): Promise<void> {
    const finished = new Date();
    const started = new Date(finished.getTime() - (opts.ranSeconds ?? 300) * 1000);
    const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");
    await this.#status(namespace, name, {
      phase,
      conditions: [
        { type: "Ready", status: "False", lastTransitionTime: iso(finished) },
        { type: "ContainersReady", status: "False", lastTransitionTime: iso(finished) },
      ],
      containerStatuses: [
        {
          name: "launcher",
          image: "launcher",
          imageID: "",
          ready: false,
          started: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode: phase === "Failed" ? 1 : 0,
              reason: phase === "Failed" ? "Error" : "Completed",
              ...(opts.message ? { message: opts.message } : {}),
              startedAt: iso(started),
              finishedAt: iso(finished),
            },
          },
        },
      ],
    });
  }

  /**
   * The node lifecycle controller's part when a node stops answering: the pod's Ready condition turns False
   * while its phase, container states and ContainersReady stay as the lost kubelet left them.
   */
  async nodeStoppedAnswering(namespace: string, name: string): Promise<void> {
    const pod = await this.pod(namespace, name);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const conditions = (pod?.status?.conditions ?? []).map((c) =>
      c.type === "Ready" ? { ...c, status: "False", lastTransitionTime: now } : c,
    );
    await this.#status(namespace, name, { conditions });
  }

  /** The taint manager's part after the unreachable toleration runs out: DisruptionTarget, then a delete. */
  async evictByTaintManager(namespace: string, name: string): Promise<void> {
    const pod = await this.pod(namespace, name);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const conditions = [
      ...(pod?.status?.conditions ?? []),
      {
        type: "DisruptionTarget",
        status: "True",
        reason: "DeletionByTaintManager",
        message: "Taint manager: deleting due to NoExecute taint",
        lastTransitionTime: now,
      },
    ];
    await this.#status(namespace, name, { conditions });
    await this.core.deleteNamespacedPod({ namespace, name });
  }

  /** The PV controller's part: the claim is bound (there is no controller-manager here). */
  async bindPvc(namespace: string, name: string, capacity = "1Gi"): Promise<void> {
    await this.core.patchNamespacedPersistentVolumeClaimStatus(
      { namespace, name, body: { status: { phase: "Bound", capacity: { storage: capacity } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  /** The kubelet's part of a graceful deletion: the containers are gone, remove the pod. */
  async finalizePod(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!is404(err)) throw err;
    }
  }
}

/** A condition of a VM's status. */
export function condition(vm: ApiVm | undefined, type: string) {
  return vm?.status?.conditions?.find((c) => c.type === type);
}

/** Throws (for `eventually`) unless `ok`. */
export function expectThat(ok: boolean, what: string): void {
  if (!ok) throw new Error(`not yet: ${what}`);
}

/** A `vireo-operator` process started by a test. */
export interface OperatorProcess {
  pid: number;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until it exited. */
  alive(): boolean;
  /** Sends a signal (no-op once it exited). */
  signal(sig: NodeJS.Signals): void;
}

/** Starts `bin/vireo-operator.js` with `args`; stdout and stderr go to `logPath`. */
export function spawnOperator(args: string[], logPath: string): OperatorProcess {
  const fd = openSync(logPath, "a");
  // setpriv execs the operator with a parent-death signal: a crashed test worker cannot leak it.
  const argv = [
    ...(existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] : []),
    process.execPath,
    join(repoRoot, "bin/vireo-operator.js"),
    ...args,
  ];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, KUBECONFIG: "" },
  });
  closeSync(fd);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once("exit", (code, signal) => {
      done = true;
      r({ code, signal });
    }),
  );
  return {
    pid: child.pid ?? -1,
    exited,
    alive: () => !done,
    signal: (sig) => {
      if (!done) child.kill(sig);
    },
  };
}

/** GETs a local URL; the status and body, or status 0 when nothing answers. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

/**
 * An in-process operator for a test file: the test image under emulation with the bridge default, no metrics
 * port, leases short enough for a test, leases in `leaseNamespace`; `overrides` win. Resolves once it leads.
 */
export async function startTestOperator(
  cp: ControlPlane,
  leaseNamespace: string,
  overrides: Partial<OperatorConfigInput> = {},
): Promise<OperatorHandle> {
  const operator = await startOperator(
    {
      launcherImage: "localhost/vireo-launcher:test",
      emulation: true,
      defaultBinding: "bridge",
      leaseNamespace,
      metricsPort: 0,
      metricsHost: "127.0.0.1",
      logLevel: (process.env.VIREO_TEST_LOG ?? "warn") as "warn",
      leaseDurationSeconds: 4,
      renewDeadlineSeconds: 3,
      retryPeriodSeconds: 0.5,
      ...overrides,
    },
    cp.kubeConfig,
  );
  await eventually(async () => expectThat(operator.isLeader(), "the operator leads"), { timeoutMs: 30_000 });
  return operator;
}
