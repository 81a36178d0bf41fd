/** Test fixtures for the decide suite: a VM as the cache holds it, its pod, what the caches show. */
import type { VmStatus } from "../../../crds/api/status.ts";
import { FINALIZER } from "../../../crds/contract/index.ts";
import { parseVirtualMachine } from "../../../crds/api/validate.ts";
import { launcherSpecHash } from "../../pod/spec-hash.ts";
import type { PodView } from "../pod-view.ts";
import type { Decision, Observed, RawVm } from "./inputs.ts";

/** The decision's "now". */
export const NOW = Date.parse("2025-06-01T12:00:00Z");
const rootDisk = {
  disks: [{ name: "root", bootOrder: 1 }],
  volumes: [{ name: "root", persistentVolumeClaim: { claimName: "web-root" } }],
};

/** A VM named web in prod with one PVC disk; `spec` is merged over that. */
export function rawVm(
  spec: Record<string, unknown> = {},
  opts: {
    annotations?: Record<string, string>;
    status?: VmStatus;
    finalizers?: string[];
    deleting?: boolean;
  } = {},
): RawVm {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: {
      name: "web",
      namespace: "prod",
      uid: "vm-uid",
      generation: 3,
      creationTimestamp: "2025-06-01T11:59:00Z",
      finalizers: opts.finalizers ?? [FINALIZER],
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.deleting ? { deletionTimestamp: "2025-06-01T11:59:30Z" } : {}),
    },
    spec: { memory: { guest: "1Gi" }, ...rootDisk, ...spec },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

/** The spec hash a pod built from `spec` carries. */
export const hashOf = (spec: Record<string, unknown> = {}) =>
  launcherSpecHash(parseVirtualMachine({ ...rawVm(spec), status: undefined }).spec);

/** The VM's launcher pod, running and ready on node-a unless `over` says otherwise. */
export function pod(over: Partial<PodView> = {}): PodView {
  return {
    name: "vireo-launcher-web",
    uid: "pod-uid",
    phase: "Running",
    terminating: false,
    ready: true,
    launcherStarted: true,
    initialized: true,
    nodeName: "node-a",
    podIPs: ["10.1.2.3"],
    specHash: hashOf(),
    startFailures: 0,
    createdAt: NOW - 600_000,
    startedAt: NOW - 590_000,
    ...over,
  };
}

/** A pod whose run ended 5 s ago after `ranMs`. */
export const ended = (phase: "Succeeded" | "Failed", ranMs: number, over: Partial<PodView> = {}) =>
  pod({
    phase,
    ready: false,
    startedAt: NOW - 5_000 - ranMs,
    finishedAt: NOW - 5_000,
    termination: { exitCode: phase === "Failed" ? 1 : 0, message: phase === "Failed" ? "qemu died" : "" },
    ...over,
  });

/** What the caches show: the root claim bound, no pods, default settings. */
export function observed(over: Partial<Observed> = {}): Observed {
  return {
    now: NOW,
    pods: [],
    claims: { "web-root": { found: true, volumeMode: "Filesystem", phase: "Bound" } },
    pod: {
      launcherImage: "launcher:1",
      imagePullPolicy: "IfNotPresent",
      emulation: true,
      defaultBinding: "bridge",
    },
    crashLoop: { baseSeconds: 10, maxSeconds: 300, minRunSeconds: 60 },
    ...over,
  };
}

/** The kinds of the decision's actions. */
export const kinds = (d: Decision) => d.actions.map((a) => a.kind);
/** One condition of the decided status. */
export const cond = (d: Decision, type: string) => d.status?.conditions?.find((c) => c.type === type);
