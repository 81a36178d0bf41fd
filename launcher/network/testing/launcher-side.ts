/**
 * The launcher's side of networking as a separate process, for integration tests: run it inside the pod
 * namespace as the launcher's user (no capabilities) with a config file; it starts the network, prints
 * one JSON line `{"ready":…,"nics":[…]}` and serves until SIGTERM, then stops its helpers.
 *
 *   node --import tsx launcher/network/testing/launcher-side.ts CONFIG.json [RESOLV_CONF [NETWORK_STATUS [NODE_SOCKET]]]
 */
import { readFile } from "node:fs/promises";
import { launcherConfigSchema } from "../../../crds/launcher/config.ts";
import { commandHost } from "../host.ts";
import { startNetwork } from "../start.ts";

const [configPath, resolvConfPath, networkStatusPath, nodeSetupSocket] = process.argv.slice(2);
if (!configPath) throw new Error("usage: launcher-side.ts CONFIG.json [RESOLV_CONF]");
const config = launcherConfigSchema.parse(JSON.parse(await readFile(configPath, "utf8")));
try {
  const started = await startNetwork(config, {
    host: commandHost(),
    ...(resolvConfPath ? { resolvConfPath } : {}),
    networkStatusPath: networkStatusPath ?? "/nonexistent",
    ...(nodeSetupSocket ? { nodeSetupSocket } : {}),
  });
  process.stdout.write(
    JSON.stringify({
      ready: true,
      nics: started.nics,
      warnings: started.plan.warnings,
      services: started.services.map((s) => ({ name: s.name, pid: s.pid ?? process.pid })),
    }) + "\n",
  );
  const stop = async () => {
    const counts = started.services.find((s) => s.dhcpCounts)?.dhcpCounts?.();
    const splices = started.services.find((s) => s.spliceCounts)?.spliceCounts?.();
    await Promise.all(started.services.map((s) => s.stop()));
    process.stdout.write(JSON.stringify({ stopped: true, dhcp: counts, splices }) + "\n");
    process.exit(0);
  };
  // Serve until told to stop, even with no helper holding the event loop (an IPv6-only masquerade pod).
  const keepAlive = setInterval(() => undefined, 60_000);
  process.once("exit", () => clearInterval(keepAlive));
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(JSON.stringify({ ready: false, code: e.code, message: e.message }) + "\n");
  process.exit(1);
}
