/**
 * `vireo-importer`: the importer pod's entry. Reads its config from the environment, runs the import behind
 * its progress/upload server, and writes the result as the container's termination message. It holds no API
 * credentials: the operator reads the result from the pod's status and polls the progress endpoint.
 */
import { writeTerminationMessage } from "../lib/termination.ts";
import { IMPORTER_CONFIG_ENV, importerConfigSchema } from "../crds/importer/config.ts";
import { DEFAULT_TUNING } from "./fetch.ts";
import { startImporter } from "./server.ts";

/** Where the kubelet reads the termination message; `VIREO_TERMINATION_LOG` overrides it (tests). */
const DEFAULT_TERMINATION_LOG = "/dev/termination-log";
const TERMINATION_LOG_ENV = "VIREO_TERMINATION_LOG";
/** Env override of the stall timeout (tests; a real cluster keeps the default). */
const STALL_ENV = "VIREO_IMPORTER_STALL_SECONDS";

async function main(): Promise<number> {
  const log = (msg: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(
      JSON.stringify({ time: Date.now(), component: "vireo-importer", msg, ...extra }) + "\n",
    );
  const terminationLog = process.env[TERMINATION_LOG_ENV] ?? DEFAULT_TERMINATION_LOG;
  let raw: unknown;
  try {
    raw = JSON.parse(process.env[IMPORTER_CONFIG_ENV] ?? "");
  } catch {
    raw = undefined;
  }
  const parsed = importerConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const message = `${IMPORTER_CONFIG_ENV}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
    writeTerminationMessage(
      terminationLog,
      JSON.stringify({ result: "Failed", reason: "InvalidConfig", message }),
    );
    log("invalid config", { message });
    return 2;
  }
  const stall = Number(process.env[STALL_ENV]);
  const tuning = stall > 0 ? { ...DEFAULT_TUNING, stallSeconds: stall } : DEFAULT_TUNING;
  const imp = await startImporter(parsed.data, tuning);
  log("importing", { source: parsed.data.source.kind, target: parsed.data.target.kind, port: imp.port });
  const r = await imp.result;
  writeTerminationMessage(terminationLog, JSON.stringify(r));
  log(r.result === "Succeeded" ? "import succeeded" : "import failed", {
    reason: r.reason,
    message: r.message,
  });
  // An upload's answer travels back through the kubelet's port-forward: give it a second to get there. Other
  // sources have no one waiting (the operator reads the result from the termination message).
  if (parsed.data.source.kind === "upload") await new Promise((res) => setTimeout(res, 1_000));
  await imp.close();
  return r.result === "Succeeded" ? 0 : 1;
}

// Exit explicitly: a lingering handle must not keep the pod from completing.
process.exit(await main());
