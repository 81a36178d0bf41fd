/**
 * `vireo-device-plugin`: the DaemonSet process that advertises devices.vireo.dev/{kvm,tun,vhost-net} to the
 * kubelet so launcher pods get /dev/kvm, /dev/net/tun and /dev/vhost-net without being privileged.
 */
import { createLogger } from "../lib/log.ts";
import { parseDevicePluginConfig, USAGE } from "./config.ts";
import { DevicePluginError } from "./errors.ts";
import { startHealthServer } from "./http.ts";
import { DevicePluginManager } from "./manager.ts";
import { DevicePluginMetrics } from "./metrics.ts";

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const config = parseDevicePluginConfig(argv);
  const log = createLogger("vireo-device-plugin", { level: config.logLevel });
  const metrics = new DevicePluginMetrics();
  const manager = new DevicePluginManager(config, log, { metrics });
  log.info({ config }, "starting");
  await manager.start();
  const http =
    config.healthPort > 0
      ? await startHealthServer(
          config.healthPort,
          manager,
          metrics,
          config.podsDir
            ? { options: { podsDir: config.podsDir, podLogsDir: config.podLogsDir }, log }
            : undefined,
        )
      : undefined;
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log.info("stopping");
  http?.close();
  await manager.stop();
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  const code = err instanceof DevicePluginError ? ` [${err.code}]` : "";
  console.error(`vireo-device-plugin${code}: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
