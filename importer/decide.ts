/**
 * The importer's decisions, pure: what a download's failure means, whether the bytes are a disk image we
 * accept, how large the target disk is, and how far along the import is. The shell (`import.ts`) gathers the
 * facts with curl and qemu-img; nothing here parses an image itself — qemu-img does, and we judge its JSON.
 */
import { usableImageBytes } from "../crds/contract/disk-image.ts";

/** Stable failure reasons, as they appear in the DataVolume's condition and Event. */
export type ImportFailure =
  | "HttpError"
  | "Unreachable"
  | "TooManyRedirects"
  | "TlsError"
  | "DownloadFailed"
  | "ChecksumMismatch"
  | "NotAnImage"
  | "UnsupportedFormat"
  | "BackingFileRefused"
  | "ExternalDataFileRefused"
  | "TruncatedImage"
  | "CorruptImage"
  | "ImageTooLarge"
  | "ConvertFailed"
  | "UploadFailed"
  | "InvalidConfig";

/** A decision that refuses, with a reason and a message a user can act on. */
export interface Refusal {
  ok: false;
  reason: ImportFailure;
  message: string;
}

/** What `qemu-img info --output=json` says, as far as we read it. */
export interface QemuInfo {
  format: string;
  "virtual-size": number;
  "backing-filename"?: string;
  "format-specific"?: { type?: string; data?: { "data-file"?: string; corrupt?: boolean } };
}

/** What `qemu-img check --output=json` says, as far as we read it. */
export interface QemuCheck {
  "check-errors"?: number;
  corruptions?: number;
  "image-end-offset"?: number;
}

/** Compression recognised by its magic bytes (a URL's extension can lie; the first bytes cannot). */
export function sniffCompression(head: Uint8Array): "xz" | "gzip" | "none" {
  const starts = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  if (starts(0x1f, 0x8b)) return "gzip";
  return "none";
}

/**
 * Maps curl's exit code and the final HTTP status to a failure, or undefined when the download worked.
 * Exit codes from curl(1) "EXIT CODES".
 */
export function downloadFailure(curlExit: number, httpCode: number, url: string): Refusal | undefined {
  if (curlExit === 0 && httpCode >= 200 && httpCode < 300) return undefined;
  const where = redact(url);
  if (httpCode >= 400 || curlExit === 22)
    return { ok: false, reason: "HttpError", message: `${where} answered HTTP ${httpCode}` };
  if (curlExit === 47)
    return { ok: false, reason: "TooManyRedirects", message: `${where} redirects too often (a loop?)` };
  if ([6, 7, 28, 52, 56].includes(curlExit))
    return {
      ok: false,
      reason: "Unreachable",
      message: `${where} did not answer (curl exit ${curlExit}: ${CURL_EXITS[curlExit]})`,
    };
  if ([35, 51, 53, 54, 58, 59, 60, 77, 80, 83, 90, 91].includes(curlExit))
    return { ok: false, reason: "TlsError", message: `TLS with ${where} failed (curl exit ${curlExit})` };
  if (curlExit === 0)
    return { ok: false, reason: "HttpError", message: `${where} answered HTTP ${httpCode}, not a file` };
  return {
    ok: false,
    reason: "DownloadFailed",
    message: `download of ${where} failed (curl exit ${curlExit})`,
  };
}

const CURL_EXITS: Record<number, string> = {
  6: "could not resolve host",
  7: "could not connect",
  28: "timed out",
  52: "empty reply",
  56: "connection reset",
};

/** A URL without user info or query (which may carry credentials), for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(bad URL)";
  }
}

/** Compares checksums (hex, case-insensitive). */
export function checksumRefusal(algorithm: string, expected: string, actual: string): Refusal | undefined {
  if (expected.toLowerCase() === actual.toLowerCase()) return undefined;
  return {
    ok: false,
    reason: "ChecksumMismatch",
    message: `${algorithm} of the download is ${actual}, expected ${expected}`,
  };
}

const TEXT_HEADS = ["<!doctype", "<html", "<?xml", "<head", "{", "<"];

/** Does the start of a file read as a web page or other text rather than a disk? */
export function looksLikeText(head: Uint8Array, contentType?: string): boolean {
  if (contentType && /^(text\/|application\/(json|xhtml|xml))/i.test(contentType)) return true;
  const s = Buffer.from(head.subarray(0, 64)).toString("latin1").trimStart().toLowerCase();
  return TEXT_HEADS.some((t) => s.startsWith(t));
}

/** Facts about the file besides what qemu-img said. */
export interface FileFacts {
  bytes: number;
  head: Uint8Array;
  contentType?: string;
}

/** An accepted image. */
export interface Accepted {
  ok: true;
  format: "raw" | "qcow2";
  virtualSize: number;
}

/**
 * Judges an image from qemu-img's own reports. Accepts raw and qcow2; refuses a backing file or an external
 * data file (both would make qemu-img open a path the image names: a host file chosen by whoever made the
 * image), a qcow2 whose check finds errors or clusters past the end of the file (truncated), an HTML page or
 * other text that qemu-img happily probes as "raw", and anything larger than the target.
 */
export function judgeImage(
  info: QemuInfo,
  check: QemuCheck | undefined,
  file: FileFacts,
  targetBytes: number,
): Accepted | Refusal {
  const fmt = info.format;
  if (fmt !== "raw" && fmt !== "qcow2")
    return {
      ok: false,
      reason: "UnsupportedFormat",
      message: `image format ${fmt}; raw and qcow2 are supported`,
    };
  if (info["backing-filename"] !== undefined)
    return {
      ok: false,
      reason: "BackingFileRefused",
      message: `the qcow2 names a backing file (${info["backing-filename"]}); flatten it with qemu-img convert`,
    };
  if (info["format-specific"]?.data?.["data-file"] !== undefined)
    return { ok: false, reason: "ExternalDataFileRefused", message: "the qcow2 names an external data file" };
  if (
    fmt === "raw" &&
    (file.bytes === 0 || looksLikeText(file.head, file.contentType) || file.bytes % 512 !== 0)
  )
    return {
      ok: false,
      reason: "NotAnImage",
      message:
        `not a disk image: ${file.bytes} bytes` +
        (file.contentType ? ` of ${file.contentType}` : "") +
        (file.bytes % 512 ? " (not whole 512-byte sectors)" : " that read as text (an error page?)"),
    };
  if (fmt === "qcow2") {
    const end = check?.["image-end-offset"];
    if (end !== undefined && end > file.bytes + 65536)
      return {
        ok: false,
        reason: "TruncatedImage",
        message: `the qcow2 is truncated: ${file.bytes} bytes, its clusters reach ${end}`,
      };
    if (
      !check ||
      (check.corruptions ?? 0) > 0 ||
      (check["check-errors"] ?? 0) > 0 ||
      info["format-specific"]?.data?.corrupt
    )
      return {
        ok: false,
        reason: (check?.corruptions ?? 0) > 0 ? "TruncatedImage" : "CorruptImage",
        message: `qemu-img check found ${check?.corruptions ?? "?"} corruptions and ${check?.["check-errors"] ?? "?"} errors (truncated or damaged)`,
      };
  }
  const virtualSize = info["virtual-size"];
  if (virtualSize > targetBytes)
    return {
      ok: false,
      reason: "ImageTooLarge",
      message: `the image's virtual size ${virtualSize} bytes exceeds the ${targetBytes} bytes the claim holds`,
    };
  return { ok: true, format: fmt, virtualSize };
}

/**
 * Size of `disk.img` on a Filesystem claim of `capacityBytes`: the launcher's own rule (the claim less CDI's
 * 5.5 % filesystem overhead, in whole MiB), so the importer writes exactly the size the launcher expects.
 */
export function filesystemDiskBytes(capacityBytes: number): number {
  return usableImageBytes(capacityBytes);
}

/** Import stages, in order, with the share of the progress bar each takes. */
export const STAGES = { transfer: [0, 70], inspect: [70, 72], convert: [72, 100] } as const;

/** Overall percent from a stage and the fraction of it done (0..1), as an integer 0..100. */
export function overallPercent(stage: keyof typeof STAGES, fraction: number): number {
  const [from, to] = STAGES[stage];
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return Math.floor(from + (to - from) * f);
}

/** Reads qemu-img convert -p's last "(12.34/100%)" from a chunk of its output; undefined if none. */
export function parseQemuProgress(chunk: string): number | undefined {
  const all = [...chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
  const last = all.at(-1);
  return last ? Number(last[1]) / 100 : undefined;
}
