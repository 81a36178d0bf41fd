/** Configuration of `vireo-device-plugin`: flags, then environment, then defaults; validated once with zod. */
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_DEVICE_PLUGIN_DIR } from "./api.ts";
import { DevicePluginError } from "./errors.ts";
import { RESOURCE_NAMES } from "../crds/contract/index.ts";

/** Where the launcher's device nodes live on a node (launcher-nodes.ts): private to root, not under /dev. */
export const DEFAULT_NODE_DIR = "/var/lib/vireo/device-nodes";

const absPath = (what: string) => z.string().regex(/^\//, `${what} must be an absolute path`);

/** The validated configuration. */
export const devicePluginConfigSchema = z
  .object({
    devicePluginDir: absPath("--device-plugin-dir").default(DEFAULT_DEVICE_PLUGIN_DIR),
    devDir: absPath("--dev-dir").default("/dev"),
    nodeDir: absPath("--node-dir").default(DEFAULT_NODE_DIR),
    hostNodeDir: absPath("--host-node-dir").optional(),
    resources: z
      .array(z.enum(RESOURCE_NAMES))
      .min(1, "--resources must name at least one of kvm, tun, vhost-net")
      .default([...RESOURCE_NAMES]),
    slots: z
      .int()
      .min(1, "--slots must be at least 1")
      .max(10_000, "--slots must be at most 10000")
      .default(110),
    pollIntervalMs: z.int().min(50, "--poll-interval-ms must be at least 50").max(60_000).default(2_000),
    healthPort: z.int().min(0).max(65_535).default(9102),
    podsDir: absPath("--pods-dir").optional(),
    podLogsDir: absPath("--pod-logs-dir").default("/var/log/pods"),
    /** The node network-setup agent's directory (one socket per tun slot); unset: no agent. */
    netsetupDir: absPath("--netsetup-dir").optional(),
    /** The same directory as the host sees it (what Allocate mounts); default `netsetupDir`. */
    hostNetsetupDir: absPath("--host-netsetup-dir").optional(),
    netsetupStateDir: absPath("--netsetup-state-dir").default("/var/lib/vireo/netsetup-state"),
    podResourcesSocket: absPath("--pod-resources-socket").default(
      "/var/lib/kubelet/pod-resources/kubelet.sock",
    ),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  })
  .strict();

/** Configuration of the device plugin. */
export type DevicePluginConfig = z.output<typeof devicePluginConfigSchema>;

const FLAGS = {
  "device-plugin-dir": { env: "VIREO_DEVICE_PLUGIN_DIR", key: "devicePluginDir", kind: "string" },
  "dev-dir": { env: "VIREO_DEV_DIR", key: "devDir", kind: "string" },
  "node-dir": { env: "VIREO_NODE_DIR", key: "nodeDir", kind: "string" },
  "host-node-dir": { env: "VIREO_HOST_NODE_DIR", key: "hostNodeDir", kind: "string" },
  resources: { env: "VIREO_RESOURCES", key: "resources", kind: "list" },
  slots: { env: "VIREO_SLOTS", key: "slots", kind: "int" },
  "poll-interval-ms": { env: "VIREO_POLL_INTERVAL_MS", key: "pollIntervalMs", kind: "int" },
  "health-port": { env: "VIREO_HEALTH_PORT", key: "healthPort", kind: "int" },
  "pods-dir": { env: "VIREO_PODS_DIR", key: "podsDir", kind: "string" },
  "pod-logs-dir": { env: "VIREO_POD_LOGS_DIR", key: "podLogsDir", kind: "string" },
  "log-level": { env: "VIREO_LOG_LEVEL", key: "logLevel", kind: "string" },
  "netsetup-dir": { env: "VIREO_NETSETUP_DIR", key: "netsetupDir", kind: "string" },
  "host-netsetup-dir": { env: "VIREO_HOST_NETSETUP_DIR", key: "hostNetsetupDir", kind: "string" },
  "netsetup-state-dir": { env: "VIREO_NETSETUP_STATE_DIR", key: "netsetupStateDir", kind: "string" },
  "pod-resources-socket": { env: "VIREO_POD_RESOURCES_SOCKET", key: "podResourcesSocket", kind: "string" },
} as const;

/** Usage text for --help. */
export const USAGE = `usage: vireo-device-plugin [options]

Advertises devices.vireo.dev/{kvm,tun,vhost-net} to the kubelet. Every flag has an environment variable.
  --device-plugin-dir DIR   kubelet device-plugin directory (VIREO_DEVICE_PLUGIN_DIR; ${DEFAULT_DEVICE_PLUGIN_DIR})
  --dev-dir DIR             where this process sees the host's device nodes (VIREO_DEV_DIR; /dev)
  --node-dir DIR            where it makes the launcher's nodes, root:107 0660 (VIREO_NODE_DIR; ${DEFAULT_NODE_DIR})
  --host-node-dir DIR       that directory on the host, for the kubelet (VIREO_HOST_NODE_DIR; --node-dir)
  --resources LIST          comma-separated subset of kvm,tun,vhost-net (VIREO_RESOURCES; all)
  --slots N                 slots advertised per resource (VIREO_SLOTS; 110)
  --poll-interval-ms MS     how often to check devices and the kubelet socket (VIREO_POLL_INTERVAL_MS; 2000)
  --health-port PORT        HTTP /healthz /readyz /metrics, 0 = off (VIREO_HEALTH_PORT; 9102)
  --pods-dir DIR            the kubelet's pods directory; serves /vm-metrics, every launcher's metrics
                            read from its run volume (VIREO_PODS_DIR; off)
  --pod-logs-dir DIR        the kubelet's pod log directory, naming each pod UID (VIREO_POD_LOGS_DIR; /var/log/pods)
  --netsetup-dir DIR        run the node network-setup agent, one socket per tun slot here (VIREO_NETSETUP_DIR; off)
  --host-netsetup-dir DIR   the same directory as the host sees it, for Allocate's mounts (VIREO_HOST_NETSETUP_DIR)
  --netsetup-state-dir DIR  the agent's records of what it set up (VIREO_NETSETUP_STATE_DIR; /var/lib/vireo/netsetup-state)
  --pod-resources-socket P  the kubelet's pod-resources socket (VIREO_POD_RESOURCES_SOCKET; /var/lib/kubelet/pod-resources/kubelet.sock)
  --log-level LEVEL         trace|debug|info|warn|error|fatal (VIREO_LOG_LEVEL; info)`;

function convert(kind: "string" | "list" | "int", raw: string): unknown {
  if (kind === "list")
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  // A non-numeric string stays a string so zod reports it as "expected number" with the flag's path.
  if (kind === "int") return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  return raw;
}

/** Parses flags and environment into a validated config, or throws DevicePluginError INVALID_CONFIG. */
export function parseDevicePluginConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): DevicePluginConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: "string" as const }]));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (cause) {
    throw new DevicePluginError("INVALID_CONFIG", `${(cause as Error).message}\n\n${USAGE}`, { cause });
  }
  const input: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const raw = values[flag] ?? env[spec.env];
    if (typeof raw === "string") input[spec.key] = convert(spec.kind, raw);
  }
  const parsed = devicePluginConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "config"}: ${i.message}`)
      .join("; ");
    throw new DevicePluginError("INVALID_CONFIG", `invalid configuration: ${problems}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
