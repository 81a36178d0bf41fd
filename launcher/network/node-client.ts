/**
 * The launcher's side of the node network setup: one request line to the node agent's socket (mounted
 * by the device plugin at NODE_NETSETUP_PATH), and the agent's record written to `${runDir}/network.json`,
 * where the rest of the launcher expects it. The launcher itself needs no capability for this.
 */
import { connect } from "node:net";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { NETWORK_STATUS_PATH, NODE_NETSETUP_VERSION } from "../../crds/contract/index.ts";
import { NetworkError } from "./errors.ts";
import { waitForNetworkStatus } from "./setup.ts";
import { networkStateSchema, writeNetworkState, type NetworkState } from "./state-file.ts";

const answerSchema = z.union([
  z.object({
    ok: z.literal(true),
    state: networkStateSchema,
    commands: z.int(),
    warnings: z.array(z.string()),
  }),
  z.object({ ok: z.literal(false), code: z.string(), message: z.string() }),
]);

/** Files the request carries (the agent must not read the node's own). */
export interface NodeSetupFiles {
  resolvConfPath?: string;
  networkStatusPath?: string;
}

const optional = (path: string) => readFile(path, "utf8").catch(() => undefined);

/** Sends one request and waits for the single answer line (the agent's setup may take a few seconds). */
function exchange(socketPath: string, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on("connect", () => socket.write(line + "\n"));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => (clearTimeout(timer), reject(err)));
    socket.on("close", () => (clearTimeout(timer), resolve(Buffer.concat(chunks).toString("utf8"))));
  });
}

/**
 * Asks the node agent at `socketPath` to set the pod's network up for `config`; writes and returns the
 * record. A refusal is NOT_SET_UP with the agent's code in the message.
 */
export async function requestNodeSetup(
  config: LauncherConfig,
  socketPath: string,
  files: NodeSetupFiles = {},
  timeoutMs = 120_000,
): Promise<NetworkState> {
  const statusPath = files.networkStatusPath ?? NETWORK_STATUS_PATH;
  // As setupPodNetwork does: Multus fills the annotation after the kubelet first wrote the file.
  if (config.interfaces.some((i) => i.network.kind === "multus"))
    await waitForNetworkStatus(statusPath, 60_000);
  const [resolvConf, networkStatus] = await Promise.all([
    optional(files.resolvConfPath ?? "/etc/resolv.conf"),
    optional(statusPath),
  ]);
  const request = JSON.stringify({
    version: NODE_NETSETUP_VERSION,
    config,
    resolvConf: resolvConf ?? "",
    ...(networkStatus?.trim() ? { networkStatus } : {}),
  });
  let text: string;
  try {
    text = await exchange(socketPath, request, timeoutMs);
  } catch (cause) {
    throw new NetworkError(
      "NOT_SET_UP",
      `the node network setup at ${socketPath} did not answer: ${(cause as Error).message}`,
      { cause },
    );
  }
  const parsed = answerSchema.safeParse(JSON.parse(text.trim() || "null"));
  if (!parsed.success)
    throw new NetworkError("NOT_SET_UP", `the node network setup at ${socketPath} answered something else`, {
      cause: parsed.error,
    });
  const answer = parsed.data;
  if (!answer.ok)
    throw new NetworkError(
      "NOT_SET_UP",
      `the node network setup refused: [${answer.code}] ${answer.message}`,
    );
  await writeNetworkState(config.paths.runDir, answer.state);
  return answer.state;
}
