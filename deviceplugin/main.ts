/**
 * `vireo-device-plugin`: the DaemonSet process that advertises devices.vireo.dev/{kvm,tun,vhost-net} to the
 * kubelet so launcher pods get /dev/kvm, /dev/net/tun and /dev/vhost-net without being privileged.
 */
import { createLogger } from "../lib/log.ts";
import type { Logger } from "pino";
import { NODE_NETSETUP_RESOURCE } from "../crds/contract/index.ts";
import { type DevicePluginConfig, parseDevicePluginConfig, USAGE } from "./config.ts";
import { slotIds } from "./devices.ts";
import type { NetsetupAgent } from "./netsetup/agent.ts";
import { hostDevices } from "./resources.ts";
import { DevicePluginError } from "./errors.ts";
import { startHealthServer } from "./http.ts";
import { DevicePluginManager } from "./manager.ts";
import { DevicePluginMetrics } from "./metrics.ts";

/** The node network-setup agent, for the tun slots this plugin advertises (deviceplugin/netsetup). */
async function startNetsetupAgent(config: DevicePluginConfig, log: Logger): Promise<NetsetupAgent> {
  const { NetsetupAgent } = await import("./netsetup/agent.ts");
  const { listPodResources } = await import("./netsetup/pod-resources.ts");
  const tun = hostDevices(config, [NODE_NETSETUP_RESOURCE])[0]!;
  const agent = new NetsetupAgent({
    dir: config.netsetupDir!,
    stateDir: config.netsetupStateDir,
    slotIds: slotIds(tun, config.slots),
    resourceName: tun.resourceName,
    listPods: () => listPodResources(config.podResourcesSocket),
    logger: log.child({ component: "netsetup" }),
  });
  await agent.start();
  return agent;
}

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
  // The agent's directories first: Allocate mounts them as soon as the plugin is registered.
  const netsetup = config.netsetupDir ? await startNetsetupAgent(config, log) : undefined;
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
  await netsetup?.stop();
  await manager.stop();
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  const code = err instanceof DevicePluginError ? ` [${err.code}]` : "";
  console.error(`vireo-device-plugin${code}: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
