/**
 * `vireo-operator`: reads flags and environment, starts the operator, and stops it in order on SIGTERM or
 * SIGINT (stop reconciling, release the leader lease, exit) within the configured shutdown timeout.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { createLogger } from "../lib/log.ts";
import { configHelp, loadOperatorConfig } from "./config.ts";
import { InvalidConfigError } from "./errors.ts";
import { startOperator } from "./operator.ts";

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(`Usage: vireo-operator [flags]\n\nFlags (and environment variables):\n${configHelp()}`);
    return;
  }
  let config;
  try {
    config = loadOperatorConfig(argv, process.env);
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      console.error(`vireo-operator: invalid configuration:\n${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = createLogger("vireo-operator", { level: config.logLevel });
  const operator = await startOperator(config, loadKubeConfig(config.kubeconfig), { logger: log });
  log.info({ httpPort: operator.httpPort }, "vireo-operator started");

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      log.error({ timeoutSeconds: config.shutdownTimeoutSeconds }, "shutdown timed out; exiting");
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  console.error("vireo-operator: fatal:", err);
  process.exit(1);
});
