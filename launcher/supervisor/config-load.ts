import { readFile } from "node:fs/promises";
import { formatPath, problemsFrom, type Problem } from "../../crds/api/validate.ts";
import {
  LAUNCHER_CONFIG_ENV,
  launcherConfigSchema,
  type LauncherConfig,
} from "../../crds/launcher/config.ts";

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

/** Reads the config from `--config FILE`, else from $VIREO_LAUNCHER_CONFIG (JSON). */
export async function loadLauncherConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LauncherConfig> {
  let text: string;
  let where: string;
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
    const value = env[LAUNCHER_CONFIG_ENV];
    if (value === undefined || value === "")
      throw new ConfigError([
        { path: formatPath([]), message: `no config: pass --config FILE or set ${LAUNCHER_CONFIG_ENV}` },
      ]);
    where = LAUNCHER_CONFIG_ENV;
    text = value;
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
