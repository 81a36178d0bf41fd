import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { formatPath, problemsFrom, type Problem } from "../../crds/api/validate.ts";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { LAUNCHER_CONFIG_ENV, LAUNCHER_CONFIG_FILE } from "../../crds/contract/index.ts";

/** The launcher config is missing, not JSON, or does not match the schema; lists every problem with its path. */
export class ConfigError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "LAUNCHER_CONFIG_INVALID";
  constructor(
    readonly problems: Problem[],
    options?: { cause?: unknown },
  ) {
    super(
      `invalid launcher config:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`,
      options,
    );
    this.name = "ConfigError";
  }
}

/** Validates an untrusted value as a launcher config (strict: unknown fields are errors). */
export function parseLauncherConfig(input: unknown): LauncherConfig {
  const r = launcherConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(problemsFrom(r.error), { cause: r.error });
  return r.data;
}

/**
 * Reads the config from `--config FILE`, else from $VIREO_LAUNCHER_CONFIG (JSON), else from the pod's
 * config file ({@link LAUNCHER_CONFIG_FILE}, where the operator's downward API volume puts it).
 */
export async function loadLauncherConfig(
  given: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  podFile: string = LAUNCHER_CONFIG_FILE,
): Promise<LauncherConfig> {
  let text: string;
  let where: string;
  const envValue = env[LAUNCHER_CONFIG_ENV];
  const file = given ?? (envValue === undefined || envValue === "" ? podFileIfThere(podFile) : undefined);
  if (file !== undefined) {
    where = file;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError(
        [{ path: formatPath([]), message: `cannot read ${file}: ${(err as Error).message}` }],
        { cause: err },
      );
    }
  } else {
    if (envValue === undefined || envValue === "")
      throw new ConfigError([
        {
          path: formatPath([]),
          message: `no config: pass --config FILE or set ${LAUNCHER_CONFIG_ENV} (in a pod: ${podFile})`,
        },
      ]);
    where = LAUNCHER_CONFIG_ENV;
    text = envValue;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      [{ path: formatPath([]), message: `${where} is not JSON: ${(err as Error).message}` }],
      { cause: err },
    );
  }
  return parseLauncherConfig(json);
}

function podFileIfThere(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}
