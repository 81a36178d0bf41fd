import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { dataVolumeSchema, type DataVolume } from "../../crds/api/datavolume.ts";
import { IMPORTER_CONFIG_ENV, importerConfigSchema } from "../../crds/importer/config.ts";
import { buildDataVolumeClaim } from "./claim.ts";
import { buildImporterPod, type ImporterPodInputs } from "./importer-pod.ts";

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), "../../test/golden/datavolume");
const update = process.env.UPDATE_GOLDEN === "1";
const GiB = 2 ** 30;

const dv = (name: string, spec: Record<string, unknown>): DataVolume =>
  dataVolumeSchema.parse({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "DataVolume",
    metadata: { name, namespace: "demo", uid: `uid-${name}` },
    spec,
  });
const inputs: ImporterPodInputs = {
  image: "localhost/vireo-launcher:1.0",
  imagePullPolicy: "IfNotPresent",
  capacityBytes: 10 * GiB,
};
const sha = `sha256:${"ab".repeat(32)}`;

/** One DataVolume per source and claim shape. */
export const cases: Record<string, { dv: DataVolume; inputs: ImporterPodInputs }> = {
  "http-checksum-ca-secret": {
    dv: dv("debian", {
      source: {
        http: {
          url: "https://mirror.test/debian.qcow2.xz",
          checksum: sha,
          certConfigMap: "ca",
          secretRef: "creds",
        },
      },
      storage: { size: "10Gi", storageClassName: "fast" },
    }),
    inputs: { ...inputs, imagePullSecrets: ["regcred"] },
  },
  "http-block": {
    dv: dv("raw-block", {
      source: { http: { url: "http://10.0.0.1/disk.raw" } },
      storage: { size: "10Gi", volumeMode: "Block" },
    }),
    inputs,
  },
  "http-qcow2-kept": {
    dv: dv("kept", {
      source: { http: { url: "http://h/d.qcow2" } },
      storage: { size: "10Gi" },
      format: "qcow2",
    }),
    inputs,
  },
  "registry-path": {
    dv: dv("from-image", {
      source: {
        registry: { image: "localhost/disks/debian:12", path: "/disk/debian.qcow2", pullPolicy: "Never" },
      },
      storage: { size: "4Gi" },
    }),
    inputs: { ...inputs, capacityBytes: 4 * GiB },
  },
  "clone-block-source": {
    dv: dv("copy", { source: { pvc: { name: "golden" } }, storage: { size: "10Gi" } }),
    inputs: { ...inputs, sourceVolumeMode: "Block" },
  },
  upload: { dv: dv("up", { source: { upload: {} }, storage: { size: "10Gi" } }), inputs },
  blank: {
    dv: dv("scratch", { source: { blank: {} }, storage: { size: "1Gi", accessModes: ["ReadWriteMany"] } }),
    inputs: { ...inputs, capacityBytes: GiB },
  },
};

describe("buildImporterPod golden files", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const text =
        stringify(buildDataVolumeClaim(c.dv), { lineWidth: 0 }) +
        "---\n" +
        stringify(buildImporterPod(c.dv, c.inputs), { lineWidth: 0 });
      const file = join(goldenDir, `${name}.yaml`);
      if (update || !existsSync(file)) {
        if (!update) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1`);
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, "utf8"));
    });
  }
});

describe("buildImporterPod", () => {
  it("runs locked down: uid 107, no token, drop ALL, read-only root, no privilege escalation", () => {
    for (const c of Object.values(cases)) {
      const pod = buildImporterPod(c.dv, c.inputs);
      expect(pod.spec?.automountServiceAccountToken).toBe(false);
      expect(pod.spec?.restartPolicy).toBe("Never");
      for (const ctr of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
        expect(ctr.securityContext).toMatchObject({
          runAsUser: 107,
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
    }
  });
  it("carries an importer config the importer's strict schema accepts", () => {
    for (const c of Object.values(cases)) {
      const env = buildImporterPod(c.dv, c.inputs).spec?.containers[0]?.env?.find(
        (e) => e.name === IMPORTER_CONFIG_ENV,
      );
      expect(importerConfigSchema.safeParse(JSON.parse(env?.value ?? "null")).success).toBe(true);
    }
  });
  it("is deterministic and owned by its DataVolume", () => {
    const c = cases["http-checksum-ca-secret"]!;
    expect(buildImporterPod(c.dv, c.inputs)).toEqual(buildImporterPod(c.dv, c.inputs));
    expect(buildImporterPod(c.dv, c.inputs).metadata?.ownerReferences).toEqual([
      {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "DataVolume",
        name: "debian",
        uid: "uid-debian",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });
});
