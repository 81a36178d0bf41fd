import type { LauncherDisk } from "../../../crds/launcher/config.ts";
import { DiskError } from "../errors.ts";
import { applyIsoDisk, type IsoFile } from "../iso-volume.ts";
import {
  optionsFor,
  type DirectIoFact,
  type DiskEnv,
  type DiskKind,
  type DiskLayout,
  type DiskOptions,
  type SourceOf,
} from "../kind.ts";

type Source = SourceOf<"configMap"> | SourceOf<"secret">;

/** The volume label of ConfigMap and Secret ISOs (KubeVirt's). */
export const CONFIG_LABEL = "cfgdata";

/** What inspecting a ConfigMap or Secret mount found. */
export interface ConfigVolumeFacts {
  mounted: boolean;
  files: IsoFile[];
  directIo: DirectIoFact;
}

/** Write an ISO of the volume's files. */
export interface ConfigVolumePlan {
  action: "iso";
  path: string;
  files: IsoFile[];
  options: DiskOptions;
}

/**
 * Whether a name in a ConfigMap/Secret mount is one of its keys. Kubernetes' atomic writer keeps the real
 * files in `..<timestamp>/` behind a `..data` symlink and links each key to `..data/<key>`; keys themselves
 * never start with "..".
 */
export function isKeyName(name: string): boolean {
  return !name.startsWith("..");
}

async function collect(env: DiskEnv, root: string, rel: string, out: IsoFile[]): Promise<void> {
  const { fs } = env.deps;
  const dir = rel ? `${root}/${rel}` : root;
  for (const name of (await fs.readDir(dir)).filter(isKeyName).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const facts = await fs.stat(`${root}/${path}`);
    if (facts?.kind === "file") out.push({ path, data: await fs.readFile(`${root}/${path}`) });
    else if (facts?.kind === "directory") await collect(env, root, path, out);
  }
}

async function inspect(_disk: LauncherDisk, source: Source, env: DiskEnv): Promise<ConfigVolumeFacts> {
  const directIo = {
    path: env.layout.disksDir,
    supported: await env.deps.fs.probeDirectIo(env.layout.disksDir),
  };
  if ((await env.deps.fs.stat(source.mountPath))?.kind !== "directory")
    return { mounted: false, files: [], directIo };
  const files: IsoFile[] = [];
  await collect(env, source.mountPath, "", files);
  return { mounted: true, files, directIo };
}

/** Plans the ISO, or refuses when the volume is not mounted. Pure. */
export function planConfigVolume(
  disk: Pick<LauncherDisk, "name" | "cache">,
  source: Source,
  facts: ConfigVolumeFacts,
  layout: DiskLayout,
): ConfigVolumePlan {
  if (!facts.mounted)
    throw new DiskError(
      "MOUNT_MISSING",
      disk.name,
      `the ${source.kind === "secret" ? "Secret" : "ConfigMap"} "${source.name}" is not mounted at ${source.mountPath}`,
      { path: source.mountPath },
    );
  return {
    action: "iso",
    path: `${layout.disksDir}/${disk.name}.${source.kind}.iso`,
    files: facts.files,
    options: optionsFor(disk, facts.directIo),
  };
}

/**
 * A ConfigMap or Secret as a read-only disk: an ISO of its keys, made afresh at every start (so the guest sees
 * the values as of its boot, as in KubeVirt).
 */
export const configVolume: DiskKind<Source, ConfigVolumeFacts, ConfigVolumePlan> = {
  inspect,
  plan: (disk, source, facts, layout) => planConfigVolume(disk, source, facts, layout),
  async apply(disk, plan, env) {
    const prepared = await applyIsoDisk(disk, plan, env, CONFIG_LABEL);
    env.deps.log.info(
      { disk: disk.name, path: plan.path, keys: plan.files.map((f) => f.path) },
      "wrote the volume's files to an ISO",
    );
    return prepared;
  },
};
