import { describe, expect, it } from "vitest";
import { dataVolumeSchema } from "./datavolume.ts";
import { vmSpecSchema } from "./spec.ts";

const dv = (spec: Record<string, unknown>) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "DataVolume",
  metadata: { name: "debian", namespace: "ns" },
  spec,
});
const http = {
  http: { url: "https://images.example/debian.qcow2.xz", checksum: `sha256:${"a".repeat(64)}` },
};

describe("DataVolume", () => {
  it("defaults the claim as CDI does (RWO, Filesystem) and the format to raw", () => {
    const parsed = dataVolumeSchema.parse(dv({ source: http, storage: { size: "10Gi" } }));
    expect(parsed.spec).toEqual({
      source: http,
      storage: { size: "10Gi", accessModes: ["ReadWriteOnce"], volumeMode: "Filesystem" },
      format: "raw",
    });
  });
  it.each([
    ["two sources", { source: { ...http, blank: {} }, storage: { size: "1Gi" } }, ["spec", "source"]],
    ["no source", { source: {}, storage: { size: "1Gi" } }, ["spec", "source"]],
    [
      "a bad checksum",
      { source: { http: { url: "http://x/y", checksum: "md5:00" } }, storage: { size: "1Gi" } },
      ["spec", "source", "http", "checksum"],
    ],
    [
      "an ftp URL",
      { source: { http: { url: "ftp://x/y" } }, storage: { size: "1Gi" } },
      ["spec", "source", "http", "url"],
    ],
    [
      "qcow2 on Block",
      { source: { blank: {} }, storage: { size: "1Gi", volumeMode: "Block" }, format: "qcow2" },
      ["spec", "format"],
    ],
    ["a size below 1Mi", { source: { blank: {} }, storage: { size: "1Ki" } }, ["spec", "storage", "size"]],
  ])("refuses %s, naming the field", (_, spec, path) => {
    const r = dataVolumeSchema.safeParse(dv(spec));
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path)).toContainEqual(path);
  });
  it("is one of the sources a VM volume may name, and a VM may carry templates", () => {
    const spec = vmSpecSchema.parse({
      memory: { guest: "1Gi" },
      disks: [{ name: "root" }],
      volumes: [{ name: "root", dataVolume: { name: "debian" } }],
      dataVolumeTemplates: [
        { metadata: { name: "debian" }, spec: { source: http, storage: { size: "4Gi" } } },
      ],
    });
    expect(spec.volumes[0]).toEqual({ name: "root", dataVolume: { name: "debian" } });
    expect(spec.dataVolumeTemplates?.[0]?.spec.format).toBe("raw");
    const two = vmSpecSchema.safeParse({
      memory: { guest: "1Gi" },
      disks: [{ name: "root" }],
      volumes: [{ name: "root", dataVolume: { name: "a" }, persistentVolumeClaim: { claimName: "a" } }],
    });
    expect(two.success).toBe(false);
  });
});
