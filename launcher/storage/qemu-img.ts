import { z } from "zod";
import type { ImageCheckResult, ImageInfoResult, ImageTool } from "./deps.ts";
import { ProgramError, runProgram, type ProgramLimits, type RunResult } from "./run.ts";

/**
 * Limits for reading an image's metadata (`info`, `check`): what OpenStack puts on `qemu-img info` after
 * crafted images made it use gigabytes and minutes (1 GiB of address space, 30 s of CPU), with more CPU
 * for a check, which walks every cluster. A header that asks for more is refused, not obliged.
 */
export const INSPECT_LIMITS: ProgramLimits = { addressSpaceBytes: 1 << 30, cpuSeconds: 30 };
/** Limits for `check`, `create` and `resize`. */
export const WORK_LIMITS: ProgramLimits = { addressSpaceBytes: 2 * (1 << 30), cpuSeconds: 300 };
/** Wall-clock deadline of `info`. */
const INFO_TIMEOUT_MS = 60_000;

/** The fields of `qemu-img info --output=json` we rely on; qemu-img adds others freely. */
const infoSchema = z.object({
  format: z.string(),
  "virtual-size": z.number().int().nonnegative(),
  "backing-filename": z.string().optional(),
  "format-specific": z
    .object({
      type: z.string(),
      data: z.object({ corrupt: z.boolean().optional(), "data-file": z.string().optional() }).loose(),
    })
    .loose()
    .optional(),
});

/** The fields of `qemu-img check --output=json`. */
const checkSchema = z.object({
  corruptions: z.number().int().optional(),
  leaks: z.number().int().optional(),
  "check-errors": z.number().int().optional(),
});

/** qemu-img's own words, shortened: a damaged image can produce thousands of ERROR lines. */
function firstLines(text: string, n = 3): string {
  const lines = text.trim().split("\n").filter(Boolean);
  const head = lines.slice(0, n).join("; ");
  return lines.length > n ? `${head}; … (${lines.length - n} more lines)` : head;
}

function failed(what: string, r: RunResult): ProgramError {
  return new ProgramError(
    `qemu-img ${what} failed (exit ${r.exitCode}): ${firstLines(r.stderr) || "no output"}`,
  );
}

/** The image tool backed by Debian's `qemu-img` (qemu-utils). */
export function qemuImg(binary = "qemu-img"): ImageTool {
  return {
    async info(path, format): Promise<ImageInfoResult> {
      // Always -f: qemu-img never probes (see image-header.ts); and never --backing-chain.
      const r = await runProgram(
        binary,
        ["info", "--output=json", "-f", format, path],
        INFO_TIMEOUT_MS,
        INSPECT_LIMITS,
      );
      if (r.exitCode !== 0) {
        const message = firstLines(r.stderr) || `exit ${r.exitCode}`;
        // qemu-img takes a shared lock to read; a running QEMU holding the image for writing blocks it.
        if (/lock/i.test(r.stderr)) return { ok: false, reason: "locked", message };
        if (/permission denied|read-only file system/i.test(r.stderr))
          return { ok: false, reason: "denied", message };
        return { ok: false, reason: "unreadable", message };
      }
      let json: unknown;
      try {
        json = JSON.parse(r.stdout);
      } catch (cause) {
        throw new ProgramError(`qemu-img info ${path}: output is not JSON`, { cause });
      }
      const parsed = infoSchema.safeParse(json);
      if (!parsed.success)
        throw new ProgramError(`qemu-img info ${path}: unexpected output`, { cause: parsed.error });
      const j = parsed.data;
      const data = j["format-specific"]?.data;
      return {
        ok: true,
        info: {
          format: j.format,
          virtualSizeBytes: j["virtual-size"],
          markedCorrupt: data?.corrupt === true,
          ...(j["backing-filename"] !== undefined ? { backingFile: j["backing-filename"] } : {}),
          ...(data?.["data-file"] !== undefined ? { dataFile: data["data-file"] } : {}),
        },
      };
    },

    async check(path): Promise<ImageCheckResult> {
      const r = await runProgram(
        binary,
        ["check", "--output=json", "-f", "qcow2", path],
        undefined,
        WORK_LIMITS,
      );
      // Exit codes (qemu-img(1)): 0 clean, 1 check could not complete, 2 corrupt, 3 only leaked clusters.
      let counts: z.infer<typeof checkSchema> = {};
      try {
        counts = checkSchema.parse(JSON.parse(r.stdout));
      } catch {
        // No report on stdout when the image cannot even be opened; stderr says why.
      }
      if (r.exitCode === 0 || r.exitCode === 3) return { ok: true, leakedClusters: counts.leaks ?? 0 };
      if (r.exitCode === 1 || r.exitCode === 2)
        return {
          ok: false,
          corruptions: counts.corruptions ?? 0,
          checkErrors: counts["check-errors"] ?? 0,
          message: firstLines(r.stderr) || `qemu-img check exit ${r.exitCode}`,
        };
      throw failed("check", r);
    },

    async createOverlay(overlay, base, baseFormat) {
      const r = await runProgram(
        binary,
        ["create", "-q", "-f", "qcow2", "-F", baseFormat, "-b", base, overlay],
        undefined,
        WORK_LIMITS,
      );
      if (r.exitCode !== 0) throw failed("create", r);
    },

    async resize(path, sizeBytes) {
      const r = await runProgram(
        binary,
        ["resize", "-q", "-f", "qcow2", path, String(sizeBytes)],
        undefined,
        WORK_LIMITS,
      );
      if (r.exitCode !== 0) throw failed("resize", r);
    },
  };
}
