/**
 * `vireo-launcher migrate listen|start|cancel|status [JSON]`: what the operator runs through `pods/exec` in a
 * launcher container (no API credentials in the pod). JSON is the control request's `migration` part
 * (`{"address":"10.0.0.7","settings":{...}}`); the reply's status is printed as JSON.
 */
import { runSockets } from "../../crds/contract/index.ts";

const VERBS = {
  listen: "migrate-listen",
  start: "migrate-start",
  cancel: "migrate-cancel",
  status: "migrate-status",
} as const;

/** Runs one migrate subcommand against the launcher in `runDir`; returns the exit code. */
export async function migrateCommand(args: string[], runDir: string): Promise<number> {
  const [verb, json, ...extra] = args;
  if (!verb || !(verb in VERBS) || extra.length) {
    console.error("usage: vireo-launcher migrate listen|start|cancel|status [JSON]");
    return 2;
  }
  const { controlRequest } = await import("../control/client.ts");
  const { migrationRequestSchema } = await import("../../crds/contract/migration.ts");
  const migration = json === undefined ? undefined : migrationRequestSchema.parse(JSON.parse(json));
  const result = await controlRequest(
    runSockets(runDir).controlSocket,
    VERBS[verb as keyof typeof VERBS],
    60_000,
    migration ? { migration } : {},
  );
  console.log(JSON.stringify(result));
  return 0;
}
