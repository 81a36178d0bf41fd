/**
 * The launcher's request to the node agent as its own process (the caller the agent identifies by
 * SO_PEERCRED): prints one JSON line with the answer or the error code.
 *
 *   node --import tsx launcher/network/testing/node-setup-side.ts CONFIG.json SOCKET RESOLV_CONF
 */
import { readFile } from "node:fs/promises";
import { launcherConfigSchema } from "../../../crds/launcher/config.ts";
import { requestNodeSetup } from "../node-client.ts";

const [configPath, socket, resolvConfPath] = process.argv.slice(2);
if (!configPath || !socket || !resolvConfPath)
  throw new Error("usage: node-setup-side.ts CONFIG SOCKET RESOLV");
const config = launcherConfigSchema.parse(JSON.parse(await readFile(configPath, "utf8")));
try {
  const state = await requestNodeSetup(config, socket, { resolvConfPath, networkStatusPath: "/nonexistent" });
  process.stdout.write(
    JSON.stringify({ ok: true, steps: state.plan.steps.length, uid: process.getuid?.() }) + "\n",
  );
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(JSON.stringify({ ok: false, code: e.code, message: e.message }) + "\n");
  process.exitCode = 1;
}
