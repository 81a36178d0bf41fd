/**
 * The privileged network setup as a separate process, as the `netsetup` init container runs it: inside
 * the pod namespace, no command prefix. Prints one JSON line with the result (or the error code) and
 * exits; integration tests use it for production-like timings.
 *
 *   ip netns exec POD node --import tsx launcher/network/testing/netsetup-side.ts CONFIG.json RESOLV_CONF [NETWORK_STATUS]
 */
import { readFile } from "node:fs/promises";
import { launcherConfigSchema } from "../../../crds/launcher/config.ts";
import { commandHost } from "../host.ts";
import { setupPodNetwork } from "../setup.ts";

const [configPath, resolvConfPath, networkStatusPath] = process.argv.slice(2);
if (!configPath || !resolvConfPath)
  throw new Error("usage: netsetup-side.ts CONFIG.json RESOLV_CONF [NETWORK_STATUS]");
const config = launcherConfigSchema.parse(JSON.parse(await readFile(configPath, "utf8")));
try {
  const r = await setupPodNetwork(config, {
    host: commandHost(),
    resolvConfPath,
    networkStatusPath: networkStatusPath ?? "/nonexistent",
  });
  process.stdout.write(
    JSON.stringify({
      ok: true,
      factsSource: r.factsSource,
      commands: r.commands.length,
      planMs: r.planMs,
      applyMs: r.applyMs,
      warnings: r.plan.warnings,
      applyWarnings: r.warnings,
    }) + "\n",
  );
} catch (err) {
  const e = err as { code?: string; message?: string; field?: string };
  process.stdout.write(
    JSON.stringify({ ok: false, code: e.code, field: e.field, message: e.message }) + "\n",
  );
  process.exitCode = 1;
}
