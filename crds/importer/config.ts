/**
 * The importer's config: what the operator's pod builder writes (env `VIREO_IMPORTER_CONFIG`, JSON) and the
 * importer reads. Its own zod schema, `.strict()`, versioned like the launcher's: the two sides ship in one
 * image today, but a pod built by an older operator must still be read or refused by name.
 */
import { z } from "zod";

/** Version tag; bump on incompatible change. */
export const IMPORTER_CONFIG_VERSION = "v1";
/** Environment variable carrying the config. */
export const IMPORTER_CONFIG_ENV = "VIREO_IMPORTER_CONFIG";
/** Port of the importer's progress endpoint (`GET /progress`), polled by the operator. */
export const IMPORTER_PROGRESS_PORT = 9102;

const absPath = () => z.string().regex(/^\//, "must be an absolute path");

/** Where the bytes come from. */
export const importSourceSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("http"),
      url: z.url({ protocol: /^https?$/ }),
      checksum: z
        .object({ algorithm: z.enum(["sha256", "sha512"]), hex: z.string().regex(/^[0-9a-f]+$/) })
        .strict()
        .optional(),
      caFile: absPath().optional().describe("PEM bundle trusted for https (from the DV's certConfigMap)."),
      credentialsDir: absPath()
        .optional()
        .describe("A mounted Secret with keys accessKeyId/secretKey (CDI's names) used as basic auth."),
    })
    .strict(),
  z
    .object({ kind: z.literal("file"), path: absPath() })
    .strict()
    .describe("registry image or a clone"),
  z
    .object({ kind: z.literal("device"), path: absPath() })
    .strict()
    .describe("a Block clone source"),
  z.object({ kind: z.literal("upload"), port: z.int().min(0).max(65535) }).strict(),
  z.object({ kind: z.literal("blank") }).strict(),
]);

/** Where the disk goes: `disk.img` in a Filesystem claim, or the claim's block device. */
export const importTargetSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("filesystem"),
      dir: absPath(),
      capacityBytes: z.int().positive(),
      format: z.enum(["raw", "qcow2"]),
    })
    .strict(),
  z.object({ kind: z.literal("block"), devicePath: absPath() }).strict(),
]);

/** The importer's whole config. */
export const importerConfigSchema = z
  .object({
    version: z.literal(IMPORTER_CONFIG_VERSION),
    source: importSourceSchema,
    target: importTargetSchema,
    scratchDir: absPath().describe("Space for the download and decompression (an emptyDir)."),
    progressPort: z.int().min(0).max(65535).default(IMPORTER_PROGRESS_PORT),
  })
  .strict();

/** A validated importer config. */
export type ImporterConfig = z.output<typeof importerConfigSchema>;
/** A config as the operator writes it. */
export type ImporterConfigInput = z.input<typeof importerConfigSchema>;
/** A source. */
export type ImportSource = z.output<typeof importSourceSchema>;
/** A target. */
export type ImportTarget = z.output<typeof importTargetSchema>;

/**
 * The importer's final word, written as its container's termination message (JSON), which the operator reads
 * from the pod status: no API credentials needed.
 */
export const importResultSchema = z
  .object({
    result: z.enum(["Succeeded", "Failed"]),
    reason: z.string(),
    message: z.string(),
    virtualSizeBytes: z.int().optional(),
    sourceFormat: z.string().optional(),
  })
  .strict();

/** The importer's result. */
export type ImportResult = z.output<typeof importResultSchema>;

/** Parses the termination message of an importer container; undefined when it is not one. */
export function parseImportResult(text: string | undefined): ImportResult | undefined {
  if (!text) return undefined;
  try {
    const r = importResultSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
