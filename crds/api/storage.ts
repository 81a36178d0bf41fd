import { z } from "zod";
import { cel } from "./k8s-meta.ts";
import { localName, objectName } from "./names.ts";
import { celOf, exactlyOneRule, type Rule } from "./rule.ts";
import { byteQuantity } from "./compute.ts";

/** Limits for ephemeral disks: at least 1 MiB, at most 64 TiB. */
const MIN_DISK_BYTES = 2 ** 20;
const MAX_DISK_BYTES = 64 * 2 ** 40;
/** NoCloud data larger than this belongs in a Secret, not in the VM object (etcd objects are limited to ~1.5 MB). */
export const MAX_INLINE_CLOUD_INIT = 64 * 1024;

/** The guest-visible side of a disk. Its `name` must match a volume. */
export const diskSchema = z
  .object({
    name: localName().describe("Disk name; a volume of the same name backs it."),
    bus: z.enum(["virtio", "scsi", "sata"]).default("virtio").describe("virtio (default), scsi or sata."),
    bootOrder: z
      .int()
      .min(1, "bootOrder must be at least 1")
      .max(100, "bootOrder must be at most 100")
      .optional()
      .describe("Boot priority (1 first)."),
    readOnly: z.boolean().default(false).describe("Present the disk read-only to the guest."),
    serial: z
      .string()
      .regex(/^[A-Za-z0-9_.+-]{1,20}$/, "must be 1-20 characters of letters, digits, '_', '.', '+' or '-'")
      .optional()
      .describe("Serial number the guest sees (default: the disk name, truncated to 20 characters)."),
    cache: z
      .enum(["none", "writethrough", "writeback"])
      .optional()
      .describe("Host cache mode; default none where the storage supports O_DIRECT, writethrough otherwise."),
  })
  .strict();

const secretRef = z.object({ name: objectName().describe("Secret name in the VM's namespace.") }).strict();

type CloudInitSources = {
  userData?: string | undefined;
  userDataSecretRef?: object | undefined;
  networkData?: string | undefined;
  networkDataSecretRef?: object | undefined;
};

/** cloud-init's rules: each document inline or from a Secret, not both. */
export const CLOUD_INIT_RULES: Rule<CloudInitSources>[] = [
  {
    id: "cloud-init-user-data-once",
    cel: [
      {
        rule: "!(has(self.userData) && has(self.userDataSecretRef))",
        message: "set userData or userDataSecretRef, not both",
      },
    ],
    check(ci, report) {
      if (ci.userData !== undefined && ci.userDataSecretRef)
        report([], "set userData or userDataSecretRef, not both");
    },
  },
  {
    id: "cloud-init-network-data-once",
    cel: [
      {
        rule: "!(has(self.networkData) && has(self.networkDataSecretRef))",
        message: "set networkData or networkDataSecretRef, not both",
      },
    ],
    check(ci, report) {
      if (ci.networkData !== undefined && ci.networkDataSecretRef)
        report([], "set networkData or networkDataSecretRef, not both");
    },
  },
];

/** cloud-init NoCloud data: inline or from a Secret, for user-data and network-config. */
export const cloudInitNoCloudSchema = z
  .object({
    userData: z
      .string()
      .max(MAX_INLINE_CLOUD_INIT, `must be at most ${MAX_INLINE_CLOUD_INIT} bytes; use userDataSecretRef`)
      .optional()
      .describe("Inline user-data."),
    userDataSecretRef: secretRef
      .optional()
      .describe("Secret whose key `userdata` (or `userData`) holds user-data."),
    networkData: z
      .string()
      .max(MAX_INLINE_CLOUD_INIT, `must be at most ${MAX_INLINE_CLOUD_INIT} bytes; use networkDataSecretRef`)
      .optional()
      .describe("Inline network-config (v2); generated from the network plan when omitted."),
    networkDataSecretRef: secretRef
      .optional()
      .describe("Secret whose key `networkdata` (or `networkData`) holds network-config."),
  })
  .strict()
  .meta(celOf(CLOUD_INIT_RULES));

/** Volume sources; a volume has exactly one. */
export const VOLUME_SOURCES = [
  "persistentVolumeClaim",
  "dataVolume",
  "containerDisk",
  "emptyDisk",
  "cloudInitNoCloud",
  "configMap",
  "secret",
] as const;

/** A volume's rule: one source. */
export const VOLUME_RULES: Rule<object>[] = [
  exactlyOneRule(
    "volume-one-source",
    VOLUME_SOURCES,
    "a volume",
    `a volume must set exactly one of ${VOLUME_SOURCES.join(", ")}`,
  ),
];

/** Where a disk's data comes from. Exactly one source per volume. */
export const volumeSchema = z
  .object({
    name: localName().describe("Volume name; matches a disk."),
    persistentVolumeClaim: z
      .object({
        claimName: objectName(),
        readOnly: z.boolean().default(false),
        format: z
          .enum(["raw", "qcow2"])
          .optional()
          .describe("Format of disk.img on a Filesystem claim (default raw); declared, never probed."),
      })
      .strict()
      .optional()
      .describe("A PVC in the VM's namespace; Filesystem mode holds disk.img, Block mode is the disk."),
    dataVolume: z
      .object({ name: objectName().describe("DataVolume (and so claim) name in the VM's namespace.") })
      .strict()
      .optional()
      .describe("The claim of a DataVolume; the VM starts once the DataVolume has Succeeded."),
    containerDisk: z
      .object({
        image: z.string().min(1, "must name an image").describe("OCI image carrying the disk under /disk/."),
        path: z
          .string()
          .regex(/^\//, "must be an absolute path inside the image")
          .optional()
          .describe("Disk file in the image (default: the single file under /disk/)."),
        imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
      })
      .strict()
      .optional()
      .describe(
        "A read-only base image with a per-VM copy-on-write overlay; guest writes are lost at restart.",
      ),
    emptyDisk: z
      .object({ capacity: byteQuantity(MIN_DISK_BYTES, MAX_DISK_BYTES, "emptyDisk capacity") })
      .strict()
      .meta(
        cel(
          {
            rule: "quantity(self.capacity).compareTo(quantity('1Mi')) >= 0",
            message: "emptyDisk capacity must be at least 1Mi",
            fieldPath: ".capacity",
          },
          {
            rule: "quantity(self.capacity).compareTo(quantity('64Ti')) <= 0",
            message: "emptyDisk capacity must be at most 64Ti",
            fieldPath: ".capacity",
          },
          {
            rule: "quantity(self.capacity).isInteger()",
            message: "emptyDisk capacity must be a whole number of bytes",
            fieldPath: ".capacity",
          },
        ),
      )
      .optional()
      .describe("A fresh, empty ephemeral disk."),
    cloudInitNoCloud: cloudInitNoCloudSchema
      .optional()
      .describe("A cidata ISO with meta-data, user-data and network-config."),
    configMap: z
      .object({ name: objectName() })
      .strict()
      .optional()
      .describe("A ConfigMap as a read-only disk."),
    secret: z
      .object({ secretName: objectName() })
      .strict()
      .optional()
      .describe("A Secret as a read-only disk."),
  })
  .strict()
  .meta(celOf(VOLUME_RULES));

/** The per-VM state claim (KubeVirt's "backend storage"): where UEFI variables (and later a TPM) persist. */
export const stateStorageSchema = z
  .object({
    storageClassName: objectName()
      .optional()
      .describe("StorageClass of the state claim (default: the cluster's default StorageClass)."),
  })
  .strict();
