import { describe, expect, it } from "vitest";
import { dataVolumeSchema, type DataVolume, type DataVolumeStatus } from "../../crds/api/datavolume.ts";
import { decideDataVolume, retryDelayMs, type DvObserved, type ImporterView } from "./phase.ts";

const NOW = Date.parse("2026-12-02T06:00:00Z");
const settings = { image: "launcher:1", imagePullPolicy: "IfNotPresent" };
const dvOf = (source: Record<string, unknown>, status?: DataVolumeStatus): DataVolume => ({
  ...dataVolumeSchema.parse({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "DataVolume",
    metadata: { name: "disk", namespace: "ns", uid: "dv-uid", generation: 1 },
    spec: { source, storage: { size: "1Gi" } },
  }),
  status,
});
const http = { http: { url: "http://h/x.img" } };
const bound = { uid: "pvc-uid", ownedByDv: true, phase: "Bound", capacityBytes: 2 ** 30 };
const obs = (o: Partial<DvObserved> = {}): DvObserved => ({ now: NOW, podSettings: settings, ...o });
const pod = (v: Partial<ImporterView>): ImporterView => ({ uid: "pod-uid", phase: "Pending", ...v });
const cond = (s: DataVolumeStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe("decideDataVolume: the happy path", () => {
  it("creates the claim first, Pending", () => {
    const d = decideDataVolume(dvOf(http), obs());
    expect(d.actions.map((a) => a.kind)).toEqual(["createClaim"]);
    expect(d.status).toMatchObject({ phase: "Pending", progress: "N/A", claimName: "disk" });
  });
  it("creates the importer pod once the claim exists (bound or not: WaitForFirstConsumer binds on the pod)", () => {
    for (const claim of [bound, { ...bound, phase: "Pending" }]) {
      const d = decideDataVolume(dvOf(http), obs({ claim }));
      expect(d.actions.map((a) => a.kind)).toEqual(["createPod"]);
      expect(d.status.phase).toBe("ImportScheduled");
      expect(d.events).toEqual([expect.objectContaining({ reason: "ImportScheduled" })]);
    }
  });
  it("reports progress while the importer runs and polls again", () => {
    const d = decideDataVolume(
      dvOf(http),
      obs({ claim: bound, pod: pod({ phase: "Running" }), progress: 42.7 }),
    );
    expect(d.status).toMatchObject({ phase: "ImportInProgress", progress: "42%" });
    expect(cond(d.status, "Running")?.status).toBe("True");
    expect(cond(d.status, "Bound")?.status).toBe("True");
    expect(d.requeueAfterMs).toBeGreaterThan(0);
  });
  it("an upload waits as UploadReady until bytes arrive", () => {
    const d = decideDataVolume(
      dvOf({ upload: {} }),
      obs({ claim: bound, pod: pod({ phase: "Running" }), progress: 0 }),
    );
    expect(d.status.phase).toBe("UploadReady");
  });
  it("Succeeded only with the importer's own success result; then the pod goes and it stays Succeeded", () => {
    const result = {
      result: "Succeeded" as const,
      reason: "ImportSucceeded",
      message: "imported a qcow2 image of 1 bytes",
    };
    const d = decideDataVolume(dvOf(http), obs({ claim: bound, pod: pod({ phase: "Succeeded", result }) }));
    expect(d.status).toMatchObject({ phase: "Succeeded", progress: "100%" });
    expect(cond(d.status, "Ready")).toMatchObject({ status: "True", message: result.message });
    expect(d.events).toEqual([expect.objectContaining({ type: "Normal", reason: "ImportSucceeded" })]);
    const again = decideDataVolume(
      dvOf(http, d.status),
      obs({ claim: bound, pod: pod({ phase: "Succeeded", result }) }),
    );
    expect(again.actions).toEqual([{ kind: "deletePod", uid: "pod-uid", reason: "import done" }]);
    expect(again.status.phase).toBe("Succeeded");
    expect(again.events).toEqual([]);
  });
  it("a pod that exited 0 without a result is not a success", () => {
    const d = decideDataVolume(dvOf(http), obs({ claim: bound, pod: pod({ phase: "Succeeded" }) }));
    expect(d.status.phase).toBe("Failed");
  });
});

describe("decideDataVolume: failures", () => {
  const failed = (reason: string, message: string) =>
    pod({ phase: "Failed", finishedAt: NOW - 1000, result: { result: "Failed", reason, message } });
  it.each(["ChecksumMismatch", "NotAnImage", "BackingFileRefused", "ImageTooLarge", "TruncatedImage"])(
    "%s is terminal: Failed, a Warning, no requeue, the pod kept for its logs",
    (reason) => {
      const d = decideDataVolume(dvOf(http), obs({ claim: bound, pod: failed(reason, "why it failed") }));
      expect(d.status.phase).toBe("Failed");
      expect(cond(d.status, "Ready")).toMatchObject({ status: "False", reason, message: "why it failed" });
      expect(d.events).toEqual([{ type: "Warning", reason, message: "why it failed" }]);
      expect(d.actions).toEqual([]);
      expect(d.requeueAfterMs).toBeUndefined();
    },
  );
  it("a 404 is terminal, a 503 is retried after a back-off, then the pod is replaced", () => {
    expect(
      decideDataVolume(
        dvOf(http),
        obs({ claim: bound, pod: failed("HttpError", "http://h/x.img answered HTTP 404") }),
      ).requeueAfterMs,
    ).toBeUndefined();
    const p = failed("HttpError", "http://h/x.img answered HTTP 503");
    const waiting = decideDataVolume(dvOf(http), obs({ claim: bound, pod: p }));
    expect(waiting.actions).toEqual([]);
    expect(waiting.requeueAfterMs).toBe(retryDelayMs(0) - 1000);
    const later = decideDataVolume(dvOf(http), obs({ claim: bound, pod: p, now: NOW + retryDelayMs(0) }));
    expect(later.actions).toEqual([{ kind: "deletePod", uid: "pod-uid", reason: "retry after HttpError" }]);
    expect(later.status.restartCount).toBe(1);
  });
  it("backs off exponentially up to five minutes", () => {
    expect([0, 1, 2, 10, 50].map(retryDelayMs)).toEqual([10_000, 20_000, 40_000, 300_000, 300_000]);
  });
  it("an OOM-killed importer fails with the kubelet's reason", () => {
    const d = decideDataVolume(
      dvOf(http),
      obs({ claim: bound, pod: pod({ phase: "Failed", stateReason: "OOMKilled" }) }),
    );
    expect(cond(d.status, "Ready")?.reason).toBe("OOMKilled");
  });
  it("refuses a claim of its name that it does not own", () => {
    const d = decideDataVolume(dvOf(http), obs({ claim: { ...bound, ownedByDv: false } }));
    expect(d.status.phase).toBe("Failed");
    expect(cond(d.status, "Ready")?.reason).toBe("ClaimExists");
    expect(d.actions).toEqual([]);
  });
  it("an image pull problem shows in Running, not as a failure", () => {
    const d = decideDataVolume(
      dvOf({ registry: { image: "x" } }),
      obs({ claim: bound, pod: pod({ stateReason: "ErrImagePull", stateMessage: "not found" }) }),
    );
    expect(d.status.phase).toBe("ImportScheduled");
    expect(cond(d.status, "Running")).toMatchObject({ reason: "ErrImagePull", message: "not found" });
  });
});

describe("decideDataVolume: clones", () => {
  it("waits for a missing source, and refuses to copy a claim a running VM writes", () => {
    const clone = dvOf({ pvc: { name: "golden" } });
    const missing = decideDataVolume(clone, obs({ claim: bound, source: { found: false } }));
    expect(cond(missing.status, "Ready")?.reason).toBe("SourceClaimNotFound");
    expect(missing.requeueAfterMs).toBe(30_000);
    const busy = decideDataVolume(
      clone,
      obs({ claim: bound, source: { found: true, inUseBy: "vireo-launcher-a" } }),
    );
    expect(cond(busy.status, "Ready")).toMatchObject({ reason: "SourceInUse" });
    expect(busy.actions).toEqual([]);
    const ok = decideDataVolume(
      clone,
      obs({ claim: bound, source: { found: true, volumeMode: "Filesystem" } }),
    );
    expect(ok.actions.map((a) => a.kind)).toEqual(["createPod"]);
  });
  it("refuses another namespace's claim", () => {
    const d = decideDataVolume(dvOf({ pvc: { namespace: "other", name: "golden" } }), obs({ claim: bound }));
    expect(d.status.phase).toBe("Failed");
    expect(cond(d.status, "Ready")?.reason).toBe("CrossNamespaceCloneUnsupported");
  });
});
