/**
 * DataVolume (vireo.dev/v1alpha1): a PersistentVolumeClaim and how its disk is filled — from an http(s)
 * image, a containerDisk image, another claim, an upload, or blank — in KubeVirt CDI's shape, so a CDI user's
 * manifest reads the same (`source.http.url`, `storage.size`, `dataVolumeTemplates` on the VM).
 */
import { z } from "zod";
import { byteQuantity } from "./compute.ts";
import { cel, exactlyOne } from "./k8s-meta.ts";
import { DNS1123_LABEL, objectName } from "./names.ts";
import { conditionSchema } from "./status.ts";
import { GROUP, VERSION } from "../contract/metadata.ts";

/** Kind. */
export const DATAVOLUME_KIND = "DataVolume";
/** Plural resource name. */
export const DATAVOLUME_PLURAL = "datavolumes";
/** `apiVersion` of a DataVolume. */
export const DATAVOLUME_API_VERSION = `${GROUP}/${VERSION}`;

/** Sources; a DataVolume has exactly one. */
export const DATAVOLUME_SOURCES = ["http", "registry", "pvc", "upload", "blank"] as const;

/** Disk sizes: 1 MiB to 64 TiB, as emptyDisk. */
const MIN_BYTES = 2 ** 20;
const MAX_BYTES = 64 * 2 ** 40;

/** `sha256:<64 hex>` or `sha512:<128 hex>`, the digest notation OCI uses. */
export const CHECKSUM_PATTERN = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

const httpSource = z
  .object({
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL")
      .describe("URL of a raw or qcow2 image, optionally .xz or .gz compressed."),
    checksum: z
      .string()
      .regex(CHECKSUM_PATTERN, "must be sha256:<64 hex digits> or sha512:<128 hex digits>")
      .optional()
      .describe("Checksum of the file as served (before decompression); verified before the disk is ready."),
    certConfigMap: objectName()
      .optional()
      .describe("ConfigMap whose key ca.pem holds the CA bundle trusted for https."),
    secretRef: objectName()
      .optional()
      .describe("Secret with keys accessKeyId and secretKey, sent as HTTP basic auth (CDI's key names)."),
  })
  .strict();

/** Where a DataVolume's disk comes from. */
export const dataVolumeSourceSchema = z
  .object({
    http: httpSource.optional().describe("Download an image over http(s)."),
    registry: z
      .object({
        image: z
          .string()
          .min(1, "must name an image")
          .describe("containerDisk-style image (disk under /disk/)."),
        path: z
          .string()
          .regex(/^\//, "must be an absolute path inside the image")
          .optional()
          .describe("Disk file in the image (default: the single file under /disk/)."),
        pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
      })
      .strict()
      .optional()
      .describe("Copy the disk out of a containerDisk image the node can run."),
    pvc: z
      .object({
        namespace: objectName()
          .optional()
          .describe("Namespace of the source claim (default: the DataVolume's)."),
        name: objectName().describe("Source claim."),
      })
      .strict()
      .optional()
      .describe(
        "Clone another claim. Another namespace needs the DataVolume's creator to be allowed `create` on " +
          "`datavolumes/source` there (KubeVirt's rule).",
      ),
    upload: z.object({}).strict().optional().describe("Wait for `vireo image-upload`."),
    blank: z.object({}).strict().optional().describe("An empty disk of the claim's size."),
  })
  .strict()
  .meta(
    cel({
      rule: exactlyOne([...DATAVOLUME_SOURCES]),
      message: `set exactly one of ${DATAVOLUME_SOURCES.join(", ")}`,
    }),
  )
  .superRefine((src, ctx) => {
    const set = DATAVOLUME_SOURCES.filter((k) => src[k] !== undefined);
    if (set.length !== 1)
      ctx.addIssue({
        code: "custom",
        message: `set exactly one of ${DATAVOLUME_SOURCES.join(", ")}${set.length ? ` (got ${set.join(", ")})` : ""}`,
      });
  });

/** The claim a DataVolume makes. */
export const dataVolumeStorageSchema = z
  .object({
    size: byteQuantity(MIN_BYTES, MAX_BYTES, "storage size").describe("Requested size (e.g. 10Gi)."),
    accessModes: z
      .array(z.enum(["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]))
      .min(1)
      .default(["ReadWriteOnce"])
      .describe("Access modes of the claim (default ReadWriteOnce)."),
    volumeMode: z
      .enum(["Filesystem", "Block"])
      .default("Filesystem")
      .describe("Filesystem (disk.img in the volume) or Block (the device is the disk)."),
    storageClassName: objectName().optional().describe("StorageClass (default: the cluster's default)."),
  })
  .strict();

/** Spec of a DataVolume. */
export const dataVolumeSpecSchema = z
  .object({
    source: dataVolumeSourceSchema.describe("Where the disk comes from."),
    storage: dataVolumeStorageSchema.describe("The claim to create."),
    format: z
      .enum(["raw", "qcow2"])
      .default("raw")
      .describe("Format of disk.img on a Filesystem claim (default raw; Block claims are always raw)."),
  })
  .strict()
  .meta(
    cel({
      rule: "self.format == 'raw' || self.storage.volumeMode != 'Block'",
      message: "a Block claim holds a raw disk; format qcow2 needs volumeMode Filesystem",
      fieldPath: ".format",
    }),
  )
  .superRefine((spec, ctx) => {
    if (spec.format === "qcow2" && spec.storage.volumeMode === "Block")
      ctx.addIssue({
        code: "custom",
        path: ["format"],
        message: "a Block claim holds a raw disk; format qcow2 needs volumeMode Filesystem",
      });
  });

/** Phases, as CDI's. */
export const DATAVOLUME_PHASES = [
  "Pending",
  "PVCBound",
  "ImportScheduled",
  "ImportInProgress",
  "UploadReady",
  "Succeeded",
  "Failed",
] as const;

/** Observed state of a DataVolume. */
export const dataVolumeStatusSchema = z
  .object({
    phase: z.enum(DATAVOLUME_PHASES).optional(),
    progress: z
      .string()
      .regex(/^(N\/A|\d{1,3}%)$/)
      .optional()
      .describe("Import progress, e.g. 45%."),
    claimName: z.string().optional(),
    observedGeneration: z.int().optional(),
    restartCount: z.int().optional(),
    conditions: z.array(conditionSchema).optional(),
  })
  .strict();

/** DataVolume names name the claim and the importer pod's label: a DNS-1123 label. */
const dataVolumeName = () =>
  z
    .string()
    .max(63, "DataVolume names must be at most 63 characters")
    .regex(DNS1123_LABEL, "must be a DNS-1123 label");

/** A DataVolume, validated. */
export const dataVolumeSchema = z
  .object({
    apiVersion: z.literal(DATAVOLUME_API_VERSION),
    kind: z.literal(DATAVOLUME_KIND),
    metadata: z
      .object({
        name: dataVolumeName().optional(),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        generation: z.int().optional(),
        resourceVersion: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        ownerReferences: z.array(z.object({ uid: z.string() }).loose()).optional(),
        deletionTimestamp: z.string().optional(),
        creationTimestamp: z.string().optional(),
      })
      .loose(),
    spec: dataVolumeSpecSchema,
    status: dataVolumeStatusSchema.optional(),
  })
  .strict();

/** An entry of a VM's `spec.dataVolumeTemplates`: a DataVolume the VM creates and owns. */
export const dataVolumeTemplateSchema = z
  .object({
    metadata: z
      .object({
        name: dataVolumeName(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    spec: dataVolumeSpecSchema,
  })
  .strict();

/** A validated DataVolume. */
export type DataVolume = z.output<typeof dataVolumeSchema>;
/** A DataVolume spec with defaults applied. */
export type DataVolumeSpec = z.output<typeof dataVolumeSpecSchema>;
/** A DataVolume status. */
export type DataVolumeStatus = z.output<typeof dataVolumeStatusSchema>;
/** A DataVolume template. */
export type DataVolumeTemplate = z.output<typeof dataVolumeTemplateSchema>;
