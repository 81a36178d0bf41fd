import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { byteQuantity } from "../crds/api/compute.ts";
import { parseQuantity } from "../crds/api/quantity.ts";
import { BINDINGS } from "../crds/api/network.ts";
import { problemsFrom } from "../crds/api/validate.ts";
import { InvalidConfigError } from "./errors.ts";
import type { ReconcilerDeps } from "./reconcile/reconciler.ts";

const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const nonEmpty = z.string().trim().min(1);

/** A list given as an array or as comma-separated text (flags, env), each entry matching `pattern`. */
const nameList = (pattern: RegExp, what: string) =>
  z
    .union([z.array(z.string()), z.string()])
    .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter((s) => s.length > 0))
    .pipe(z.array(z.string().max(253).regex(pattern, `must be ${what}`)))
    .default([]);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Operator settings; every field can come from a flag or an environment variable (see {@link OPTIONS}). */
export const operatorConfigSchema = z
  .object({
    launcherImage: nonEmpty.default("localhost/vireo-launcher:latest"),
    launcherImagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).default("IfNotPresent"),
    emulation: bool.default(false),
    defaultBinding: z.enum(BINDINGS).default("bridge"),
    /** Who plumbs taps: the netsetup init container, or the device plugin's node agent (`node`). */
    networkSetup: z.enum(["initContainer", "node"]).default("initContainer"),
    /** Namespaces to watch; empty means all. */
    namespaces: nameList(DNS_LABEL, "a namespace name"),
    /**
     * Image pull Secrets for launcher pods (names; each must exist in every VM's namespace, since a pod can
     * only reference Secrets of its own namespace).
     */
    launcherImagePullSecrets: nameList(DNS_SUBDOMAIN, "a Secret name"),
    /**
     * Replaces the fixed part (128 MiB) of the launcher's memory overhead formula; the per-vCPU, per-guest-
     * memory, UEFI and VNC terms still apply. A Kubernetes quantity; kept as text so a parsed config
     * parses again (tests and the chart-install test re-feed it).
     */
    launcherMemoryOverhead: byteQuantity(0, 64 * 2 ** 30, "launcherMemoryOverhead").optional(),
    /** Port for /metrics, /healthz and /readyz; 0 picks a free one (tests). */
    metricsPort: int(0, 65535).default(8080),
    metricsHost: nonEmpty.default("0.0.0.0"),
    leaderElect: bool.default(true),
    leaseName: nonEmpty.default("vireo-operator"),
    leaseNamespace: nonEmpty.default("vireo-system"),
    leaseDurationSeconds: int(1, 3600).default(15),
    renewDeadlineSeconds: int(1, 3600).default(10),
    retryPeriodSeconds: z.coerce.number().positive().max(600).default(2),
    /** Leader-election identity; default: the pod name (POD_NAME), else host, pid and a random suffix. */
    identity: nonEmpty.default(
      () => process.env.POD_NAME ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    ),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Concurrent reconciles (different VMs; one VM is never reconciled twice at once). */
    workers: int(1, 256).default(16),
    /** Crash-loop back-off: first delay and cap, doubled per consecutive quick failure. */
    crashLoopBaseSeconds: z.coerce.number().min(0).max(3600).default(10),
    crashLoopMaxSeconds: z.coerce.number().min(0).max(86400).default(300),
    /** A launcher pod that ends sooner than this after starting counts as a start failure. */
    crashLoopMinRunSeconds: int(0, 86400).default(60),
    /** Retry delay for failed reconciles: first delay and cap (exponential per VM). */
    retryBaseMs: int(1, 3_600_000).default(200),
    retryMaxMs: int(1, 3_600_000).default(60_000),
    /** How often each running VM's guest agent report is read (pods/exec; operator/agent/reader.ts). */
    agentReadSeconds: int(5, 3600).default(60),
    /** Time allowed for an orderly stop on SIGTERM (release the lease, drain reconciles). */
    shutdownTimeoutSeconds: z.coerce.number().positive().max(3600).default(20),
    /** Kubeconfig file; default: KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
    kubeconfig: nonEmpty.optional(),
  })
  .strict()
  .refine((c) => c.renewDeadlineSeconds < c.leaseDurationSeconds, {
    message: "renewDeadlineSeconds must be less than leaseDurationSeconds",
    path: ["renewDeadlineSeconds"],
  })
  .refine((c) => c.retryPeriodSeconds < c.renewDeadlineSeconds, {
    message: "retryPeriodSeconds must be less than renewDeadlineSeconds",
    path: ["retryPeriodSeconds"],
  });

/** Validated operator configuration. */
export type OperatorConfig = z.output<typeof operatorConfigSchema>;
/** Operator configuration as written (flags, env, tests). */
export type OperatorConfigInput = z.input<typeof operatorConfigSchema>;

type Key = keyof OperatorConfigInput;

/** Flag name (`--launcher-image`) and environment variable (`VIREO_LAUNCHER_IMAGE`) of each setting. */
export const OPTIONS: Record<Key, { flag: string; env: string; help: string }> = {
  launcherImage: { flag: "launcher-image", env: "VIREO_LAUNCHER_IMAGE", help: "launcher image" },
  launcherImagePullPolicy: {
    flag: "launcher-image-pull-policy",
    env: "VIREO_LAUNCHER_IMAGE_PULL_POLICY",
    help: "Always | IfNotPresent | Never",
  },
  launcherImagePullSecrets: {
    flag: "launcher-image-pull-secrets",
    env: "VIREO_LAUNCHER_IMAGE_PULL_SECRETS",
    help: "comma-separated Secret names for launcher pods",
  },
  launcherMemoryOverhead: {
    flag: "launcher-memory-overhead",
    env: "VIREO_LAUNCHER_MEMORY_OVERHEAD",
    help: "quantity replacing the overhead's fixed 128Mi",
  },
  emulation: { flag: "emulation", env: "VIREO_EMULATION", help: "allow TCG; do not request /dev/kvm" },
  defaultBinding: {
    flag: "default-binding",
    env: "VIREO_DEFAULT_BINDING",
    help: "bridge | masquerade | passt",
  },
  networkSetup: {
    flag: "network-setup",
    env: "VIREO_NETWORK_SETUP",
    help: "initContainer | node (the device plugin's node agent; no privileged container)",
  },
  namespaces: { flag: "namespaces", env: "VIREO_NAMESPACES", help: "comma-separated; empty: all" },
  metricsPort: { flag: "metrics-port", env: "VIREO_METRICS_PORT", help: "/metrics /healthz /readyz" },
  metricsHost: { flag: "metrics-host", env: "VIREO_METRICS_HOST", help: "listen address" },
  leaderElect: { flag: "leader-elect", env: "VIREO_LEADER_ELECT", help: "true | false" },
  leaseName: { flag: "lease-name", env: "VIREO_LEASE_NAME", help: "Lease name" },
  leaseNamespace: { flag: "lease-namespace", env: "VIREO_LEASE_NAMESPACE", help: "Lease namespace" },
  leaseDurationSeconds: { flag: "lease-duration", env: "VIREO_LEASE_DURATION", help: "seconds" },
  renewDeadlineSeconds: { flag: "renew-deadline", env: "VIREO_RENEW_DEADLINE", help: "seconds" },
  retryPeriodSeconds: { flag: "retry-period", env: "VIREO_RETRY_PERIOD", help: "seconds" },
  identity: { flag: "identity", env: "VIREO_IDENTITY", help: "leader-election identity" },
  logLevel: { flag: "log-level", env: "VIREO_LOG_LEVEL", help: "info | debug | ..." },
  workers: { flag: "workers", env: "VIREO_WORKERS", help: "concurrent reconciles" },
  crashLoopBaseSeconds: { flag: "crash-loop-base", env: "VIREO_CRASH_LOOP_BASE", help: "seconds" },
  crashLoopMaxSeconds: { flag: "crash-loop-max", env: "VIREO_CRASH_LOOP_MAX", help: "seconds" },
  crashLoopMinRunSeconds: {
    flag: "crash-loop-min-run",
    env: "VIREO_CRASH_LOOP_MIN_RUN",
    help: "seconds",
  },
  retryBaseMs: { flag: "retry-base-ms", env: "VIREO_RETRY_BASE_MS", help: "milliseconds" },
  retryMaxMs: { flag: "retry-max-ms", env: "VIREO_RETRY_MAX_MS", help: "milliseconds" },
  agentReadSeconds: { flag: "agent-read", env: "VIREO_AGENT_READ", help: "seconds" },
  shutdownTimeoutSeconds: {
    flag: "shutdown-timeout",
    env: "VIREO_SHUTDOWN_TIMEOUT",
    help: "seconds",
  },
  kubeconfig: { flag: "kubeconfig", env: "VIREO_KUBECONFIG", help: "kubeconfig file" },
};

/** Configs this module validated (and froze): handed back in, they are trusted rather than parsed again. */
const parsed = new WeakSet<object>();

/**
 * Validates a config object (tests, embedding); throws {@link InvalidConfigError}. A config this function
 * returned is frozen and comes back as it is, so the binary's config (parsed by {@link loadOperatorConfig})
 * is parsed once; a copy with changes (tests spread one) is a new input and is parsed.
 */
export function parseOperatorConfig(input: OperatorConfigInput | OperatorConfig): OperatorConfig {
  if (parsed.has(input)) return input as OperatorConfig;
  const r = operatorConfigSchema.safeParse(input);
  if (!r.success) throw new InvalidConfigError(problemsFrom(r.error), { cause: r.error });
  const config = Object.freeze(r.data);
  parsed.add(config);
  return config;
}

/** What the reconciler takes from the config: the pod's cluster settings and the crash-loop back-off. */
export function reconcileSettings(config: OperatorConfig): ReconcilerDeps["settings"] {
  return {
    pod: {
      launcherImage: config.launcherImage,
      imagePullPolicy: config.launcherImagePullPolicy,
      emulation: config.emulation,
      defaultBinding: config.defaultBinding,
      networkSetup: config.networkSetup,
      imagePullSecrets: config.launcherImagePullSecrets,
      ...(config.launcherMemoryOverhead !== undefined
        ? { memoryOverheadBaseBytes: parseQuantity(config.launcherMemoryOverhead) ?? 0 }
        : {}),
    },
    crashLoop: {
      baseSeconds: config.crashLoopBaseSeconds,
      maxSeconds: config.crashLoopMaxSeconds,
      minRunSeconds: config.crashLoopMinRunSeconds,
    },
  };
}

/**
 * Reads the configuration from command-line flags, then environment variables, then defaults (in that order
 * of precedence), and validates it.
 */
export function loadOperatorConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const keys = Object.keys(OPTIONS) as Key[];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(keys.map((k) => [OPTIONS[k].flag, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw new InvalidConfigError([{ path: "(flags)", message: (cause as Error).message }], { cause });
  }
  const input: Record<string, unknown> = {};
  for (const k of keys) {
    const v = values[OPTIONS[k].flag] ?? env[OPTIONS[k].env];
    if (v !== undefined) input[k] = v;
  }
  return parseOperatorConfig(input as OperatorConfigInput);
}

/** One line per setting, for `--help`. */
export function configHelp(): string {
  return (Object.keys(OPTIONS) as Key[])
    .map((k) => `  --${OPTIONS[k].flag.padEnd(28)} ${OPTIONS[k].env.padEnd(34)} ${OPTIONS[k].help}`)
    .join("\n");
}
