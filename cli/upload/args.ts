/** `vireo image-upload` flags, parsed and checked once (pure). */
import { parseArgs } from "node:util";
import { parseQuantity } from "../../crds/api/quantity.ts";
import { DNS1123_LABEL } from "../../crds/api/names.ts";

/** Usage text. */
export const UPLOAD_USAGE = `usage: vireo image-upload --image-path FILE dv/NAME [--size 10Gi] [--wait] [options]

Streams a local raw or qcow2 image (optionally .xz/.gz) into a DataVolume with source upload, through the
API server (a port-forward to the DataVolume's importer pod). With --size, a missing DataVolume is created.
An interrupted upload is not resumed: run the command again and it restarts from the first byte (the
importer discards what it got; the disk is only written once the whole file arrived and passed its checks).

Options:
  --image-path FILE         the image to upload (required)
  --size QUANTITY           create dv/NAME with this size when it does not exist (e.g. 10Gi)
  --storage-class NAME      StorageClass of a created DataVolume
  --volume-mode MODE        Filesystem (default) or Block, for a created DataVolume
  --wait                    wait until the DataVolume has Succeeded
  --timeout SECONDS         how long to wait for the upload pod and, with --wait, the import (default 300)
  -n, --namespace NS        namespace (default: the context's)
  --kubeconfig FILE, --context NAME   as kubectl`;

/** Parsed flags. */
export interface UploadArgs {
  help: boolean;
  imagePath: string;
  name: string;
  size?: string;
  storageClass?: string;
  volumeMode: "Filesystem" | "Block";
  wait: boolean;
  timeoutSeconds: number;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

/** A usage error, with the flag it is about. */
export class UploadUsageError extends Error {
  readonly code = "USAGE";
}

/** Parses argv; throws {@link UploadUsageError} naming the flag. */
export function parseUploadArgs(argv: string[]): UploadArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        "image-path": { type: "string" },
        size: { type: "string" },
        "storage-class": { type: "string" },
        "volume-mode": { type: "string" },
        wait: { type: "boolean" },
        timeout: { type: "string" },
        namespace: { type: "string", short: "n" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
      },
    });
  } catch (err) {
    throw new UploadUsageError((err as Error).message, { cause: err });
  }
  const v = parsed.values;
  if (v.help)
    return {
      help: true,
      imagePath: "",
      name: "",
      volumeMode: "Filesystem",
      wait: false,
      timeoutSeconds: 300,
    };
  if (!v["image-path"]) throw new UploadUsageError("--image-path FILE is required");
  if (parsed.positionals.length !== 1) throw new UploadUsageError("name one DataVolume: dv/NAME (or NAME)");
  const name = parsed.positionals[0]!.replace(/^(dv|datavolume|datavolumes)\//, "");
  if (!DNS1123_LABEL.test(name) || name.length > 63)
    throw new UploadUsageError(
      `DataVolume name "${name}": must be a DNS-1123 label of at most 63 characters`,
    );
  if (v.size !== undefined && !(parseQuantity(v.size)! >= 2 ** 20))
    throw new UploadUsageError(`--size ${v.size}: must be a quantity of at least 1Mi, e.g. 10Gi`);
  const mode = v["volume-mode"] ?? "Filesystem";
  if (mode !== "Filesystem" && mode !== "Block")
    throw new UploadUsageError(`--volume-mode ${mode}: Filesystem or Block`);
  const timeout = v.timeout === undefined ? 300 : Number(v.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UploadUsageError(`--timeout ${v.timeout}: seconds, more than 0`);
  return {
    help: false,
    imagePath: v["image-path"],
    name,
    volumeMode: mode,
    wait: v.wait ?? false,
    timeoutSeconds: timeout,
    ...(v.size !== undefined ? { size: v.size } : {}),
    ...(v["storage-class"] !== undefined ? { storageClass: v["storage-class"] } : {}),
    ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
    ...(v.context !== undefined ? { context: v.context } : {}),
  };
}

/** One line of progress: `[#####.....]  52%  104.0/200.0 MiB  12.3 MiB/s`. Pure. */
export function progressLine(sent: number, total: number, seconds: number, width = 30): string {
  const f = total > 0 ? Math.min(1, sent / total) : 0;
  const full = Math.round(f * width);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const rate = seconds > 0 ? `${mib(sent / seconds)} MiB/s` : "";
  return `[${"#".repeat(full)}${".".repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%  ${mib(sent)}/${mib(total)} MiB  ${rate}`.trimEnd();
}
