// The decide suite with DataVolumes: a VM creates its templates' DataVolumes and starts only once they have
// Succeeded; a failed DataVolume is a Failure that needs a fix, not a wait.
import { describe, expect, it } from "vitest";
import { launcherConfigSchema } from "../../../crds/launcher/config.ts";
import { ANNOTATION_LAUNCHER_CONFIG } from "../../../crds/contract/index.ts";
import type { DataVolumeFacts } from "../../datavolume/vm-disks.ts";
import { decide } from "./decide.ts";
import { cond, kinds, observed, rawVm } from "./testing.ts";

const spec = {
  volumes: [{ name: "root", dataVolume: { name: "web-root" } }],
  dataVolumeTemplates: [
    {
      metadata: { name: "web-root" },
      spec: { source: { http: { url: "http://h/d.qcow2" } }, storage: { size: "4Gi" }, format: "qcow2" },
    },
  ],
};
const facts = (f: DataVolumeFacts) => ({ dataVolumes: { "web-root": f } });

describe("decide with DataVolumes", () => {
  it("creates the template's DataVolume and waits, Provisioning", () => {
    const d = decide(
      rawVm(spec),
      observed({ ...facts({ found: false }), claims: { "web-root": { found: false } } }),
    );
    expect(kinds(d)).toEqual(["createDataVolume"]);
    expect(d.status?.printableStatus).toBe("Provisioning");
    expect(cond(d, "Ready")).toMatchObject({ status: "False", reason: "DataVolumeNotFound" });
  });
  it("waits for binding, then for the import, without creating a pod", () => {
    const pending = decide(
      rawVm(spec),
      observed(facts({ found: true, uid: "u", format: "qcow2", phase: "Pending" })),
    );
    expect(pending.status?.printableStatus).toBe("WaitingForVolumeBinding");
    const importing = decide(
      rawVm(spec),
      observed(facts({ found: true, uid: "u", format: "qcow2", phase: "ImportInProgress", progress: "40%" })),
    );
    expect(kinds(importing)).toEqual([]);
    expect(importing.status?.printableStatus).toBe("Provisioning");
    expect(cond(importing, "Reconciling")?.message).toContain("40%");
  });
  it("a failed DataVolume is DataVolumeError with Failure and Stalled", () => {
    const d = decide(
      rawVm(spec),
      observed(
        facts({
          found: true,
          uid: "u",
          format: "qcow2",
          phase: "Failed",
          reason: "ChecksumMismatch",
          message: "sha256 of the download is 00",
        }),
      ),
    );
    expect(kinds(d)).toEqual([]);
    expect(d.status?.printableStatus).toBe("DataVolumeError");
    expect(cond(d, "Failure")).toMatchObject({ status: "True", reason: "DataVolumeFailed" });
    expect(cond(d, "Failure")?.message).toContain("ChecksumMismatch");
    expect(cond(d, "Stalled")?.status).toBe("True");
  });
  it("starts once the DataVolume Succeeded, opening its claim with the declared format", () => {
    const d = decide(
      rawVm(spec),
      observed(facts({ found: true, uid: "u", format: "qcow2", phase: "Succeeded" })),
    );
    expect(kinds(d)).toEqual(["createPod"]);
    const pod = d.actions[0]!.kind === "createPod" ? d.actions[0]!.pod : undefined;
    const config = launcherConfigSchema.parse(
      JSON.parse(pod?.metadata?.annotations?.[ANNOTATION_LAUNCHER_CONFIG] ?? "null"),
    );
    expect(config.disks[0]?.source).toMatchObject({
      kind: "pvcFilesystem",
      claimName: "web-root",
      format: "qcow2",
    });
    expect(pod?.spec?.volumes).toContainEqual(
      expect.objectContaining({ persistentVolumeClaim: { claimName: "web-root", readOnly: false } }),
    );
  });
});
