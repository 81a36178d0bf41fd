/**
 * `vireo-launcher`: the process in a VM's pod. Without a subcommand it runs the VM; the other
 * subcommands are for the netsetup init container and for `kubectl exec` (console, pause, status).
 */
import { parseArgs } from "node:util";
import {
  podPaths,
  runSockets,
  EXIT,
  DEFAULT_TERMINATION_LOG,
  TERMINATION_LOG_ENV,
} from "../crds/contract/index.ts";
import { ConfigError, loadLauncherConfig } from "./supervisor/config-load.ts";
import { createLogger } from "./supervisor/logger.ts";
import { resultOf } from "./supervisor/outcome.ts";
import { writeTerminationMessage } from "../lib/termination.ts";

const USAGE = `usage: vireo-launcher [run] [--config FILE] [--termination-log PATH]
       vireo-launcher netsetup [--config FILE]
       vireo-launcher console [--config FILE | --run-dir DIR]
       vireo-launcher pause|unpause|status|logs [--config FILE | --run-dir DIR]
       vireo-launcher migrate listen|start|cancel|status [JSON] [--run-dir DIR]
       vireo-launcher agent|soft-reboot|fsfreeze|fsthaw|fsfreeze-status [--run-dir DIR]
       vireo-launcher probe agent-ping|exec [--timeout SECONDS] [-- COMMAND ARG...]
       vireo-launcher resize-disk DISK CAPACITY_BYTES [--run-dir DIR]

The config comes from --config FILE, the VIREO_LAUNCHER_CONFIG environment variable (JSON), or in a
pod the file /etc/vireo/launcher-config.json (the operator's downward API volume).
Environment: VIREO_ACCEL=kvm|tcg|auto (tcg only when the VM allows emulation), VIREO_TERMINATION_LOG,
VIREO_LOG_LEVEL, VIREO_QEMU (the QEMU binary).`;

const OPTIONS = {
  config: { type: "string" },
  "run-dir": { type: "string" },
  "termination-log": { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command = "run", ...rest] = positionals;
  if (command === "probe")
    return probe(rest, values.timeout, await runDirOf(values.config, values["run-dir"]));
  if (command === "migrate") {
    const { migrateCommand } = await import("./migration/exec.ts");
    return migrateCommand(rest, await runDirOf(values.config, values["run-dir"]));
  }
  if (command === "resize-disk") return resizeDisk(rest, await runDirOf(values.config, values["run-dir"]));
  if (rest.length) {
    console.error(`vireo-launcher: unexpected arguments: ${rest.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case "run":
      return run(values.config, values["termination-log"]);
    case "netsetup":
      return netsetup(values.config);
    case "console":
    case "pause":
    case "unpause":
    case "status":
    case "logs":
    case "agent":
    case "soft-reboot":
    case "fsfreeze":
    case "fsthaw":
    case "fsfreeze-status":
      return exec(command, await runDirOf(values.config, values["run-dir"]));
    default:
      console.error(`vireo-launcher: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function run(configFile: string | undefined, terminationLogFlag: string | undefined): Promise<number> {
  const terminationLog = terminationLogFlag ?? process.env[TERMINATION_LOG_ENV] ?? DEFAULT_TERMINATION_LOG;
  let config;
  try {
    config = await loadLauncherConfig(configFile);
  } catch (err) {
    // Nothing has started yet: say what is wrong and stop.
    const message = (err as Error).message;
    createLogger().error(
      { code: (err as ConfigError).code, problems: (err as ConfigError).problems },
      message,
    );
    const result = resultOf({ kind: "config", message });
    writeTerminationMessage(terminationLog, result.message);
    return result.code;
  }
  const { runLauncher } = await import("./supervisor/run.ts");
  return runLauncher(config, { logger: createLogger(config.vm), terminationLog });
}

async function netsetup(configFile: string | undefined): Promise<number> {
  const config = await loadLauncherConfig(configFile);
  const logger = createLogger(config.vm);
  const { setupPodNetwork } = await import("./network/setup.ts");
  const { commandHost } = await import("./network/host.ts");
  const result = await setupPodNetwork(config, { host: commandHost(), logger });
  logger.info(
    {
      commands: result.commands.length,
      factsSource: result.factsSource,
      planMs: result.planMs,
      applyMs: result.applyMs,
    },
    "pod network set up",
  );
  return 0;
}

/** `resize-disk DISK BYTES` (the operator, through pods/exec): prints the launcher's answer as JSON. */
async function resizeDisk(args: string[], runDir: string): Promise<number> {
  const [disk, bytes, ...extra] = args;
  const capacityBytes = Number(bytes);
  if (!disk || !Number.isSafeInteger(capacityBytes) || capacityBytes <= 0 || extra.length) {
    console.error("usage: vireo-launcher resize-disk DISK CAPACITY_BYTES");
    return 2;
  }
  const { controlRequest, ControlError } = await import("./control/client.ts");
  try {
    const result = await controlRequest(runSockets(runDir).controlSocket, "resize-disk", 60_000, {
      resize: { disk, capacityBytes },
    });
    console.log(JSON.stringify(result));
    return 0;
  } catch (err) {
    // The caller (the operator) reads the refusal's code from stdout, as it reads a success.
    if (!(err instanceof ControlError)) throw err;
    console.log(JSON.stringify({ error: { code: err.code, message: err.message } }));
    return 1;
  }
}

/** The run directory for exec subcommands: --run-dir, the config's, or the pod default. */
async function runDirOf(configFile: string | undefined, runDir: string | undefined): Promise<string> {
  if (runDir) return runDir;
  if (configFile || process.env.VIREO_LAUNCHER_CONFIG)
    return (await loadLauncherConfig(configFile)).paths.runDir;
  return podPaths().runDir;
}

/**
 * `probe agent-ping` and `probe exec -- CMD…`: the guest probes of KubeVirt's shape, as exec probes the
 * kubelet runs in the launcher container; exit 0 when the agent answers (and the command exits 0).
 */
async function probe(args: string[], timeout: string | undefined, runDir: string): Promise<number> {
  const [kind, ...command] = args;
  const timeoutSeconds = timeout === undefined ? 5 : Number(timeout);
  if (
    (kind !== "agent-ping" && kind !== "exec") ||
    !(timeoutSeconds > 0) ||
    (kind === "exec") !== command.length > 0
  ) {
    console.error(`vireo-launcher: probe agent-ping | probe exec -- COMMAND…\n\n${USAGE}`);
    return 2;
  }
  const { controlRequest } = await import("./control/client.ts");
  const socket = runSockets(runDir).controlSocket;
  const waitMs = timeoutSeconds * 1000 + 5000;
  if (kind === "agent-ping") {
    await controlRequest(socket, "agent-ping", waitMs, { timeoutSeconds });
    return 0;
  }
  const r = (await controlRequest(socket, "agent-exec", waitMs, { args: command, timeoutSeconds })) as {
    exitCode: number;
  };
  if (r.exitCode !== 0)
    console.error(`vireo-launcher: ${command.join(" ")} exited with ${r.exitCode} in the guest`);
  return r.exitCode === 0 ? 0 : 1;
}

async function exec(
  command:
    | "console"
    | "pause"
    | "unpause"
    | "status"
    | "logs"
    | "agent"
    | "soft-reboot"
    | "fsfreeze"
    | "fsthaw"
    | "fsfreeze-status",
  runDir: string,
): Promise<number> {
  const files = runSockets(runDir);
  if (command === "console") {
    const { attachConsole } = await import("./console/attach.ts");
    return attachConsole(files.consoleSocket);
  }
  const { controlRequest } = await import("./control/client.ts");
  const result = await controlRequest(files.controlSocket, command);
  if (command === "logs") process.stdout.write((result as { console: string }).console);
  else console.log(JSON.stringify(result, null, 2));
  return 0;
}

const code = await main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as Error & { code?: string };
  console.error(`vireo-launcher: ${e.code ? `${e.code}: ` : ""}${e.message}`);
  return e instanceof ConfigError ? EXIT.CONFIG : EXIT.INTERNAL;
});
// Exit explicitly: a launcher that lingered on a stray handle would keep its pod from terminating.
process.exit(code);
