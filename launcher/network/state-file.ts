/**
 * `${runDir}/network.json`: the hand-off from the privileged network setup to the unprivileged launcher,
 * and the memory of the pod's original facts (after the bridge binding moved the pod IP to the guest,
 * the namespace no longer shows it).
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { z } from "zod";
import { NetworkError } from "./errors.ts";
import { podFactsSchema } from "./facts.ts";
import { netPlanSchema } from "./plan-types.ts";

/** File name of the state file inside the run directory. */
export const NETWORK_STATE_FILE = "network.json";

/** Contents of the state file. */
export const networkStateSchema = z
  .object({
    version: z.literal(1),
    /** False while the plan is being applied: a crash then leaves a record of the original facts. */
    applied: z.boolean(),
    facts: podFactsSchema,
    plan: netPlanSchema,
  })
  .strict();

/** Contents of the state file. */
export type NetworkState = z.infer<typeof networkStateSchema>;

/** Path of the state file. */
export const networkStatePath = (runDir: string) => `${runDir}/${NETWORK_STATE_FILE}`;

/** Reads and validates the state file; undefined when there is none. */
export async function readNetworkState(runDir: string): Promise<NetworkState | undefined> {
  const path = networkStatePath(runDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new NetworkError("FACTS_INVALID", `cannot read ${path}`, { cause: err });
  }
  try {
    return networkStateSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new NetworkError("FACTS_INVALID", `${path} is not a valid network state file`, { cause });
  }
}

/** Writes the state file atomically (readable by the launcher's user). */
export async function writeNetworkState(runDir: string, state: NetworkState): Promise<void> {
  const path = networkStatePath(runDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o644 });
  await rename(tmp, path);
}
