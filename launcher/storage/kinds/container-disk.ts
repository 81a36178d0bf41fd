import type { LauncherDisk } from "../../../crds/launcher/config.ts";
import type { FileFacts } from "../deps.ts";
import { DiskError } from "../errors.ts";
import { inspectImage, usableImage, type ImageFacts } from "../image-facts.ts";
import {
  optionsFor,
  preparedDisk,
  type DirectIoFact,
  type DiskEnv,
  type DiskKind,
  type DiskLayout,
  type DiskOptions,
  type SourceOf,
} from "../kind.ts";

type Source = SourceOf<"containerDisk">;

/** Where a containerDisk image keeps its disk, by convention (KubeVirt's too). */
const IMAGE_DISK_DIR = "/disk/";

/** A path under the volume directory and what is there. */
export interface Entry {
  path: string;
  facts?: FileFacts;
}

/** The volume directory as inspection saw it. */
export interface ContainerDiskListing {
  dir?: FileFacts;
  /** With `source.path`: the places that file may be, in order of preference. */
  candidates?: Entry[];
  /** Without `source.path`: the entries of the directory searched for the single disk file. */
  searched?: { dir: string; entries: Entry[] };
}

/**
 * The places a containerDisk file may be. An image volume (Kubernetes ≥ 1.31) mounts the whole image at
 * `dir`, so `/disk/x.qcow2` is at `dir/disk/x.qcow2`; the init-container copy puts the contents of the
 * image's `/disk/` straight into `dir`, so the same file is at `dir/x.qcow2`. Pure.
 */
export function baseCandidates(source: Pick<Source, "dir" | "path">): string[] {
  if (!source.path) return [];
  const out = [`${source.dir}${source.path}`];
  if (source.path.startsWith(IMAGE_DISK_DIR))
    out.push(`${source.dir}/${source.path.slice(IMAGE_DISK_DIR.length)}`);
  return out;
}

/** Picks the base image from what inspection listed, or explains why there is none. Pure. */
export function pickBase(
  disk: string,
  source: Pick<Source, "dir" | "path" | "image">,
  listing: ContainerDiskListing,
): string {
  const where = `containerDisk "${source.image}"`;
  if (listing.dir?.kind !== "directory")
    throw new DiskError(
      "BASE_IMAGE_MISSING",
      disk,
      `${where} is not at ${source.dir} (the image volume or the init container that copies it is missing)`,
      { path: source.dir },
    );
  if (source.path) {
    const found = listing.candidates?.find((c) => c.facts?.kind === "file");
    if (!found)
      throw new DiskError(
        "BASE_IMAGE_MISSING",
        disk,
        `${where} has no file ${source.path} (looked for ${baseCandidates(source).join(" and ")})`,
        { path: source.dir },
      );
    return found.path;
  }
  const searched = listing.searched!;
  const files = searched.entries.filter((e) => e.facts?.kind === "file");
  if (files.length === 0)
    throw new DiskError("BASE_IMAGE_MISSING", disk, `${where} has no disk file in ${searched.dir}`, {
      path: searched.dir,
    });
  if (files.length > 1)
    throw new DiskError(
      "AMBIGUOUS_BASE_IMAGE",
      disk,
      `${where} has ${files.length} files in ${searched.dir} (${files.map((f) => f.path).join(", ")}); ` +
        "name one with containerDisk.path",
      { path: searched.dir },
    );
  return files[0]!.path;
}

/** What inspecting a containerDisk found. */
export interface ContainerDiskFacts {
  base: string;
  image: ImageFacts;
  baseDirectIo: DirectIoFact;
  overlayDirectIo: DirectIoFact;
}

/** Make a fresh overlay on the base. */
export interface ContainerDiskPlan {
  action: "overlay";
  base: string;
  baseFormat: "raw" | "qcow2";
  overlay: string;
  options: DiskOptions;
}

async function list(env: DiskEnv, dir: string): Promise<Entry[]> {
  const names = (await env.deps.fs.readDir(dir)).filter((n) => !n.startsWith(".")).sort();
  return Promise.all(
    names.map(async (n) => {
      const facts = await env.deps.fs.stat(`${dir}/${n}`);
      return facts ? { path: `${dir}/${n}`, facts } : { path: `${dir}/${n}` };
    }),
  );
}

async function inspect(disk: LauncherDisk, source: Source, env: DiskEnv): Promise<ContainerDiskFacts> {
  const { fs, images } = env.deps;
  const listing: ContainerDiskListing = {};
  const dir = await fs.stat(source.dir);
  if (dir) listing.dir = dir;
  if (dir?.kind === "directory") {
    if (source.path) {
      listing.candidates = await Promise.all(
        baseCandidates(source).map(async (path) => {
          const facts = await fs.stat(path);
          return facts ? { path, facts } : { path };
        }),
      );
    } else {
      const nested = `${source.dir}/disk`;
      const searchDir = (await fs.stat(nested))?.kind === "directory" ? nested : source.dir;
      listing.searched = { dir: searchDir, entries: await list(env, searchDir) };
    }
  }
  const base = pickBase(disk.name, source, listing);
  return {
    base,
    // Read-only and the image author's: its own header decides between raw and qcow2, read by us.
    image: await inspectImage({ fs, images }, base, { fromHeader: true }),
    baseDirectIo: { path: base, supported: await fs.probeDirectIo(base) },
    overlayDirectIo: { path: env.layout.disksDir, supported: await fs.probeDirectIo(env.layout.disksDir) },
  };
}

/** A fresh qcow2 overlay in the launcher's state directory on top of the read-only base. Pure. */
export function planContainerDisk(
  disk: Pick<LauncherDisk, "name" | "cache">,
  facts: ContainerDiskFacts,
  layout: DiskLayout,
): ContainerDiskPlan {
  const image = usableImage(disk.name, facts.base, facts.image);
  // QEMU opens the backing file with the overlay's cache mode, so both places must support O_DIRECT.
  const probe = facts.baseDirectIo.supported ? facts.overlayDirectIo : facts.baseDirectIo;
  return {
    action: "overlay",
    base: facts.base,
    baseFormat: image.format,
    overlay: `${layout.disksDir}/${disk.name}.overlay.qcow2`,
    options: optionsFor(disk, probe),
  };
}

/**
 * A containerDisk: the image's disk is the read-only backing file of a qcow2 overlay that is thrown away and
 * made afresh at every start, so guest writes last until the VM restarts (as in KubeVirt). The base is never
 * written: qemu-img and QEMU open backing files read-only, and we remove its write permission as well.
 */
export const containerDisk: DiskKind<Source, ContainerDiskFacts, ContainerDiskPlan> = {
  inspect,
  plan: (disk, _source, facts, layout) => planContainerDisk(disk, facts, layout),
  async apply(disk, plan, env) {
    const { fs, images, log } = env.deps;
    const locked = await fs.makeReadOnly(plan.base);
    await fs.remove(plan.overlay);
    await images.createOverlay(plan.overlay, plan.base, plan.baseFormat);
    log.info(
      {
        disk: disk.name,
        base: plan.base,
        baseFormat: plan.baseFormat,
        overlay: plan.overlay,
        baseMadeReadOnly: locked,
      },
      "created a fresh overlay on the containerDisk",
    );
    return preparedDisk(disk, { path: plan.overlay, format: "qcow2" }, plan.options);
  },
};
