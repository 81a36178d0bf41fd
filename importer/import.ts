/**
 * One import, start to finish: fetch the source into scratch space, verify and inspect it, then write the
 * target. Returns the result the container reports as its termination message. The order is the contract:
 * the checksum and qemu-img's checks run before a byte of the target is written.
 */
import { mkdir, rm } from "node:fs/promises";
import type { ImporterConfig } from "../crds/importer/config.ts";
import type { STAGES } from "./decide.ts";
import { overallPercent, type Refusal } from "./decide.ts";
import { DEFAULT_TUNING, fetchHttp, unpack, type Fetched, type FetchTuning } from "./fetch.ts";
import { inspect, targetBytes, writeTarget } from "./write.ts";
import type { ImportResult } from "../crds/importer/config.ts";

/** Progress as the endpoint serves it. */
export interface Progress {
  stage: keyof typeof STAGES | "done";
  percent: number;
}

/** Where an upload's bytes come from (the upload server hands the import a file it received). */
export type UploadedFile = () => Promise<string>;

/** Runs one import. `report` gets each progress step; `uploaded` supplies the file of an upload source. */
export async function runImport(
  cfg: ImporterConfig,
  report: (p: Progress) => void,
  options: { tuning?: FetchTuning; uploaded?: UploadedFile } = {},
): Promise<ImportResult> {
  const tuning = options.tuning ?? DEFAULT_TUNING;
  const fail = (r: Refusal): ImportResult => ({ result: "Failed", reason: r.reason, message: r.message });
  const step = (stage: keyof typeof STAGES) => (f: number) => {
    if (!Number.isNaN(f)) report({ stage, percent: overallPercent(stage, f) });
  };
  await mkdir(cfg.scratchDir, { recursive: true });
  try {
    const limit = await targetBytes(cfg.target);
    let fetched: Fetched | Refusal | undefined;
    const src = cfg.source;
    if (src.kind === "http") fetched = await fetchHttp(src, cfg.scratchDir, tuning, step("transfer"));
    else if (src.kind === "file" || src.kind === "device")
      fetched = await unpack(src.path, `${cfg.scratchDir}/image`, undefined, false);
    else if (src.kind === "upload") {
      if (!options.uploaded)
        return { result: "Failed", reason: "InvalidConfig", message: "no upload server" };
      fetched = await unpack(await options.uploaded(), `${cfg.scratchDir}/image`);
    }
    if (fetched && !fetched.ok) return fail(fetched);
    let image: { path: string; format: "raw" | "qcow2" } | undefined;
    let virtualSize = limit;
    if (fetched) {
      step("inspect")(0);
      const judged = await inspect(fetched, limit);
      if (!judged.ok) return fail(judged);
      image = { path: fetched.path, format: judged.format };
      virtualSize = judged.virtualSize;
    }
    const bad = await writeTarget(cfg.target, image, limit, step("convert"));
    if (bad) return fail(bad);
    report({ stage: "done", percent: 100 });
    return {
      result: "Succeeded",
      reason: "ImportSucceeded",
      message: image ? `imported a ${image.format} image of ${virtualSize} bytes` : `created a blank disk`,
      virtualSizeBytes: virtualSize,
      ...(image ? { sourceFormat: image.format } : {}),
    };
  } finally {
    // Scratch space goes with the pod anyway; free it now for an upload server's next try.
    await rm(cfg.scratchDir, { recursive: true, force: true }).catch(() => {});
  }
}
