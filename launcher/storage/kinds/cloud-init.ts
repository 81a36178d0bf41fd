import type { LauncherConfig, LauncherDisk } from "../../../crds/launcher/config.ts";
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
import { z } from "zod";
import { networkStatePath } from "../../network/state-file.ts";
import { cloudInitYaml, defaultNetworkConfig } from "../network-config.ts";

type Source = SourceOf<"cloudInit">;

/** The volume label cloud-init's NoCloud datasource looks for. */
export const NOCLOUD_LABEL = "cidata";

/** The Secret keys that may hold user-data and network-config, in order of preference. */
export const USER_DATA_KEYS = ["userdata", "userData"] as const;
/** See {@link USER_DATA_KEYS}. */
export const NETWORK_DATA_KEYS = ["networkdata", "networkData"] as const;

/** What was found in a mounted Secret: whether the mount exists, and the first key present with its bytes. */
export interface SecretRead {
  dir: string;
  mounted: boolean;
  key?: string;
  data?: Buffer;
}

/** What inspecting a cloud-init volume found. */
export interface CloudInitFacts {
  userDataSecret?: SecretRead;
  networkDataSecret?: SecretRead;
  /** The MACs the network setup gave the guest's NICs, by NIC name (its stored plan), when there is one. */
  guestMacs?: Record<string, string>;
  directIo: DirectIoFact;
}

/** Write a NoCloud ISO of these files. */
export interface CloudInitPlan {
  action: "iso";
  path: string;
  files: IsoFile[];
  options: DiskOptions;
}

async function readSecret(env: DiskEnv, dir: string, keys: readonly string[]): Promise<SecretRead> {
  const { fs } = env.deps;
  if ((await fs.stat(dir))?.kind !== "directory") return { dir, mounted: false };
  for (const key of keys) {
    if ((await fs.stat(`${dir}/${key}`))?.kind === "file")
      return { dir, mounted: true, key, data: await fs.readFile(`${dir}/${key}`) };
  }
  return { dir, mounted: true };
}

/** The part of the network setup's stored plan the NoCloud network-config needs (the file has much more). */
const plannedNicsSchema = z.object({
  plan: z.object({ nics: z.array(z.object({ name: z.string(), mac: z.string() })) }),
});

/**
 * The guest NICs' MACs from the plan the network setup stored (`network.json`; netsetup runs before the
 * launcher prepares disks, in a pod and in `vireo run`). Undefined when there is no usable plan: the launcher
 * then plans the network itself, with the configured MACs, and reports a bad file there.
 */
async function plannedGuestMacs(env: DiskEnv): Promise<Record<string, string> | undefined> {
  const path = networkStatePath(env.config.paths.runDir);
  if ((await env.deps.fs.stat(path))?.kind !== "file") return undefined;
  let state;
  try {
    state = plannedNicsSchema.safeParse(JSON.parse((await env.deps.fs.readFile(path)).toString("utf8")));
  } catch {
    return undefined;
  }
  return state.success ? Object.fromEntries(state.data.plan.nics.map((n) => [n.name, n.mac])) : undefined;
}

async function inspect(_disk: LauncherDisk, source: Source, env: DiskEnv): Promise<CloudInitFacts> {
  const facts: CloudInitFacts = {
    directIo: { path: env.layout.disksDir, supported: await env.deps.fs.probeDirectIo(env.layout.disksDir) },
  };
  const guestMacs = env.config.interfaces.length > 0 ? await plannedGuestMacs(env) : undefined;
  if (guestMacs) facts.guestMacs = guestMacs;
  if (source.userDataDir) facts.userDataSecret = await readSecret(env, source.userDataDir, USER_DATA_KEYS);
  if (source.networkDataDir)
    facts.networkDataSecret = await readSecret(env, source.networkDataDir, NETWORK_DATA_KEYS);
  return facts;
}

function fromSecret(disk: string, what: string, keys: readonly string[], read: SecretRead): Buffer {
  if (!read.mounted)
    throw new DiskError("MOUNT_MISSING", disk, `the Secret holding ${what} is not mounted at ${read.dir}`, {
      path: read.dir,
    });
  if (!read.data)
    throw new DiskError(
      "CLOUD_INIT_DATA_MISSING",
      disk,
      `the Secret mounted at ${read.dir} has no key ${keys.map((k) => `"${k}"`).join(" or ")} for ${what}`,
      { path: read.dir },
    );
  return read.data;
}

/**
 * The NoCloud files, byte for byte: `meta-data` (instance-id, local-hostname), `user-data` (inline, from the
 * Secret, or empty — NoCloud needs the file to exist), and `network-config` (given, or generated for the
 * VM's NICs; left out when the VM has none, so cloud-init keeps its own fallback). Pure.
 */
export function noCloudFiles(
  disk: string,
  source: Source,
  facts: Pick<CloudInitFacts, "userDataSecret" | "networkDataSecret" | "guestMacs">,
  config: Pick<LauncherConfig, "interfaces">,
): IsoFile[] {
  const metaData = cloudInitYaml({ "instance-id": source.instanceId, "local-hostname": source.hostname });
  const userData =
    source.userData ??
    (facts.userDataSecret ? fromSecret(disk, "user-data", USER_DATA_KEYS, facts.userDataSecret) : "");
  const networkData =
    source.networkData ??
    (facts.networkDataSecret
      ? fromSecret(disk, "network-config", NETWORK_DATA_KEYS, facts.networkDataSecret)
      : config.interfaces.length > 0
        ? defaultNetworkConfig(config, facts.guestMacs)
        : undefined);
  return [
    { path: "meta-data", data: metaData },
    { path: "user-data", data: userData },
    ...(networkData !== undefined ? [{ path: "network-config", data: networkData }] : []),
  ];
}

/** Plans the NoCloud ISO. Pure. */
export function planCloudInit(
  disk: Pick<LauncherDisk, "name" | "cache">,
  source: Source,
  facts: CloudInitFacts,
  layout: DiskLayout,
  config: Pick<LauncherConfig, "interfaces">,
): CloudInitPlan {
  return {
    action: "iso",
    path: `${layout.disksDir}/${disk.name}.cidata.iso`,
    files: noCloudFiles(disk.name, source, facts, config),
    options: optionsFor(disk, facts.directIo),
  };
}

/**
 * Builds the cloud-init kind. The plan needs the VM's NICs for the default network-config, so the kind is
 * made per config.
 */
export function cloudInitKind(
  config: Pick<LauncherConfig, "interfaces">,
): DiskKind<Source, CloudInitFacts, CloudInitPlan> {
  return {
    inspect,
    plan: (disk, source, facts, layout) => planCloudInit(disk, source, facts, layout, config),
    async apply(disk, plan, env) {
      const prepared = await applyIsoDisk(disk, plan, env, NOCLOUD_LABEL);
      env.deps.log.info(
        { disk: disk.name, path: plan.path, files: plan.files.map((f) => f.path) },
        "wrote the cloud-init NoCloud ISO",
      );
      return prepared;
    },
  };
}
