/**
 * Online disk resize, the operator's shell: every interval it looks at each running VM's claim disks, and for
 * a claim whose status.capacity changed since its launcher was last told, runs `vireo-launcher resize-disk
 * DISK BYTES` in the launcher container through pods/exec (the launcher has no API credentials and nothing
 * listens on the pod network for it), then records the answer as an Event on the VM. What each pod was told
 * is kept in memory by pod uid: after an operator restart each disk is asked once more, which the launcher
 * answers "unchanged".
 */
import { PassThrough } from "node:stream";
import {
  Exec,
  type KubeConfig,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Status,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { LAUNCHER_BIN, LAUNCHER_CONTAINER } from "../../crds/contract/index.ts";
import type { VmRef } from "../kube/resources.ts";
import type { VmEvent } from "../kube/events.ts";
import {
  claimDisksOf,
  judgeResize,
  planResizes,
  reportedCapacity,
  type ResizeAnswer,
} from "./resize-plan.ts";

/** Runs the launcher with `args` in the pod; resolves with its stdout whatever its exit code. */
export type LauncherExec = (pod: V1Pod, args: string[]) => Promise<string>;

/** What the resizer needs. */
export interface DiskResizerDeps {
  /** The VMs with a running launcher pod now. */
  running(): { vm: VmRef & { spec?: unknown }; pod: V1Pod }[];
  pvc(namespace: string, name: string): V1PersistentVolumeClaim | undefined;
  events: { record(vm: VmRef, event: VmEvent): void };
  log: Logger;
  /** Default: pods/exec with `kubeConfig`. */
  exec?: LauncherExec;
  kubeConfig?: KubeConfig;
  /** Between rounds; default 10 s. */
  intervalMs?: number;
}

/** See the file comment. */
export class DiskResizer {
  readonly #d: DiskResizerDeps;
  /** Pod uid → disk → capacity told. */
  readonly #told = new Map<string, Map<string, number>>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(d: DiskResizerDeps) {
    this.#d = d;
  }

  /** Starts the rounds. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.tick(), this.#d.intervalMs ?? 10_000);
    this.#timer.unref();
  }

  /** Stops the rounds. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
  }

  /** One round (tests call it too); rounds do not overlap, VMs are taken one after another. */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const all = this.#d.running();
      const live = new Set(all.map((r) => r.pod.metadata?.uid ?? ""));
      for (const uid of [...this.#told.keys()]) if (!live.has(uid)) this.#told.delete(uid);
      for (const { vm, pod } of all) await this.#resizeVm(vm, pod);
    } finally {
      this.#busy = false;
    }
  }

  async #resizeVm(vm: VmRef & { spec?: unknown }, pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    const told = this.#told.get(uid) ?? new Map<string, number>();
    this.#told.set(uid, told);
    const requests = planResizes(
      claimDisksOf(vm.spec),
      (claim) => reportedCapacity(this.#d.pvc(vm.namespace, claim)),
      told,
    );
    const exec = this.#d.exec ?? ((p, args) => execLauncher(this.#d.kubeConfig!, p, args));
    for (const r of requests) {
      let answer: ResizeAnswer;
      try {
        const out = await exec(pod, ["resize-disk", r.disk, String(r.capacityBytes)]);
        answer = JSON.parse(out.trim().split("\n").at(-1) ?? "") as ResizeAnswer;
      } catch (err) {
        // A pod going away, an old launcher without the command: ask again next round.
        this.#d.log.debug(
          { vm: `${vm.namespace}/${vm.name}`, disk: r.disk, err: String(err) },
          "resize not sent",
        );
        continue;
      }
      const outcome = judgeResize(r, answer);
      if (outcome.told) told.set(r.disk, r.capacityBytes);
      if (outcome.event) this.#d.events.record(vm, outcome.event);
      this.#d.log.info({ vm: `${vm.namespace}/${vm.name}`, ...r, answer }, "disk resize answered");
    }
  }
}

/** `vireo-launcher ARGS` in the pod's launcher container: its stdout (bounded), whatever its exit code. */
export async function execLauncher(
  kc: KubeConfig,
  pod: V1Pod,
  args: string[],
  timeoutMs = 60_000,
): Promise<string> {
  const out = new PassThrough();
  let text = "";
  out.setEncoding("utf8").on("data", (c: string) => {
    if (text.length < 64 * 1024) text += c;
  });
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(
    pod.metadata?.namespace ?? "default",
    pod.metadata?.name ?? "",
    LAUNCHER_CONTAINER,
    [LAUNCHER_BIN, ...args],
    out,
    null,
    null,
    false,
    (s) => (status = s),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (!status) throw new Error(`${LAUNCHER_BIN} ${args[0]}: no exec status`);
  return text;
}

/** The resizer over the operator's caches: each VM with a Running, not terminating launcher pod. */
export function diskResizerOver(
  caches: {
    allVms(): { metadata: { namespace?: string; name?: string; uid?: string }; spec?: unknown }[];
    podsOf(key: string, uid: string | undefined): V1Pod[];
    pvc(namespace: string, name: string): V1PersistentVolumeClaim | undefined;
  },
  d: Omit<DiskResizerDeps, "running" | "pvc">,
): DiskResizer {
  return new DiskResizer({
    ...d,
    pvc: (ns, name) => caches.pvc(ns, name),
    running: () =>
      caches.allVms().flatMap((vm) => {
        const { namespace = "", name = "", uid = "" } = vm.metadata;
        const pod = caches
          .podsOf(`${namespace}/${name}`, uid)
          .find((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
        return pod ? [{ vm: { namespace, name, uid, spec: vm.spec }, pod }] : [];
      }),
  });
}
