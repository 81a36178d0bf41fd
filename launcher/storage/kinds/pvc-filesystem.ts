import type { LauncherDisk } from "../../../crds/launcher/config.ts";
import type { FileFacts, SpaceFacts } from "../deps.ts";
import { DiskError } from "../errors.ts";
import { headerMismatch, inspectImage, usableImage, type ImageFacts } from "../image-facts.ts";
import {
  optionsFor,
  preparedDisk,
  type DirectIoFact,
  type DiskEnv,
  type DiskKind,
  type DiskOptions,
  type SourceOf,
} from "../kind.ts";
import { formatBytes, MIN_IMAGE_BYTES, usableImageBytes } from "../../../crds/contract/disk-image.ts";

type Source = SourceOf<"pvcFilesystem">;

/** The disk image's name at the root of a Filesystem-mode claim, as KubeVirt names it. */
export const PVC_IMAGE_NAME = "disk.img";

/** What inspecting a Filesystem-mode claim found. */
export interface PvcFilesystemFacts {
  /** The mount directory, or undefined when it is absent. */
  mount?: FileFacts;
  /** `disk.img`, or undefined when it is absent. */
  image?: FileFacts;
  imageFacts?: ImageFacts;
  space?: SpaceFacts;
  directIo?: DirectIoFact;
}

/** What to do with a Filesystem-mode claim's image. */
export type PvcFilesystemPlan = { path: string; options: DiskOptions; note?: string } & (
  | { action: "create"; format: "raw"; sizeBytes: number }
  | { action: "grow"; format: "raw" | "qcow2"; fromBytes: number; toBytes: number }
  | { action: "use"; format: "raw" | "qcow2"; sizeBytes: number }
);

/** Logged when the space checks are skipped. */
const UNREPORTED =
  "the filesystem reports no size (ramfs, some FUSE filesystems), so the space for the image was not checked";

/** Reads the claim's mount, image and free space. Changes nothing (the O_DIRECT probe file is removed). */
async function inspect(disk: LauncherDisk, source: Source, env: DiskEnv): Promise<PvcFilesystemFacts> {
  const { fs, images } = env.deps;
  const mount = await fs.stat(source.mountPath);
  if (mount?.kind !== "directory") return {};
  const path = `${source.mountPath}/${PVC_IMAGE_NAME}`;
  const image = await fs.stat(path);
  const space = await fs.space(source.mountPath);
  const facts: PvcFilesystemFacts = { mount, space };
  if (image) facts.image = image;
  // The guest writes this image: its format is the declared one, never what its header says today.
  if (image?.kind === "file")
    facts.imageFacts = await inspectImage({ fs, images }, path, { declared: source.format ?? "raw" });
  // Probe where QEMU will open the file: the image itself, or (when we are about to create it) the mount.
  if (image?.kind === "file") facts.directIo = { path, supported: await fs.probeDirectIo(path) };
  else if (!image && !disk.readOnly)
    facts.directIo = { path: source.mountPath, supported: await fs.probeDirectIo(source.mountPath) };
  return facts;
}

/**
 * Decides create / grow / use, or refuses. Pure.
 * - absent: create a sparse raw image of the claim's capacity minus the filesystem reserve (or, with the
 *   capacity unknown, of the free space minus the reserve), if the filesystem has that much free;
 * - present: never shrink or overwrite; grow to the claim's (reserve-adjusted) capacity when the claim grew
 *   and the filesystem holds it; refuse an image that the filesystem could never hold.
 */
export function planPvcFilesystem(
  disk: Pick<LauncherDisk, "name" | "readOnly" | "cache">,
  source: Source,
  facts: PvcFilesystemFacts,
): PvcFilesystemPlan {
  const name = disk.name;
  const path = `${source.mountPath}/${PVC_IMAGE_NAME}`;
  if (!facts.mount)
    throw new DiskError(
      "MOUNT_MISSING",
      name,
      `the volume of claim "${source.claimName}" is not mounted at ${source.mountPath}`,
      { path: source.mountPath },
    );
  const space = facts.space!;
  // statfs says 0 blocks for filesystems without a fixed size; their free space is no limit we can check.
  const unreported = space.totalBytes === 0;
  const at: Where = { name, path, source, space, unreported };
  return facts.image ? planExisting(disk, at, facts, facts.image) : planNew(disk, at, facts);
}

/** The disk, its image path, its claim and the filesystem's space, as the planning steps share them. */
interface Where {
  name: string;
  path: string;
  source: Source;
  space: NonNullable<PvcFilesystemFacts["space"]>;
  /** The filesystem reports no size (statfs: 0 blocks). */
  unreported: boolean;
}

/** No image yet: create one of the claim's (or the free space's) size, or refuse. */
function planNew(
  disk: Pick<LauncherDisk, "name" | "readOnly" | "cache">,
  { name, path, source, space, unreported }: Where,
  facts: PvcFilesystemFacts,
): PvcFilesystemPlan {
  if (disk.readOnly)
    throw new DiskError(
      "IMAGE_MISSING",
      name,
      `claim "${source.claimName}" holds no ${PVC_IMAGE_NAME} and the disk is read-only, so none can be created`,
      { path },
    );
  if (unreported && source.capacityBytes === undefined)
    throw new DiskError(
      "INSUFFICIENT_SPACE",
      name,
      `cannot size a new ${PVC_IMAGE_NAME}: the claim's capacity is unknown and ${source.mountPath} reports no size`,
      { path },
    );
  const basis = source.capacityBytes ?? space.availableBytes;
  const sizeBytes = usableImageBytes(basis);
  const what =
    source.capacityBytes !== undefined
      ? `claim capacity ${formatBytes(source.capacityBytes)}`
      : `free space ${formatBytes(space.availableBytes)} (claim capacity unknown)`;
  if (sizeBytes < MIN_IMAGE_BYTES || (!unreported && sizeBytes > space.availableBytes))
    throw new DiskError(
      "INSUFFICIENT_SPACE",
      name,
      `a new ${PVC_IMAGE_NAME} for ${what} needs ${formatBytes(Math.max(sizeBytes, MIN_IMAGE_BYTES))}, ` +
        `but ${source.mountPath} has ${formatBytes(space.availableBytes)} free`,
      { path },
    );
  return {
    action: "create",
    path,
    format: "raw",
    sizeBytes,
    options: optionsFor(disk, facts.directIo!),
    ...(unreported ? { note: UNREPORTED } : {}),
  };
}

/** An image exists: use it, or grow it to the claim; never shrink or overwrite. */
function planExisting(
  disk: Pick<LauncherDisk, "name" | "readOnly" | "cache">,
  { name, path, source, space, unreported }: Where,
  facts: PvcFilesystemFacts,
  found: NonNullable<PvcFilesystemFacts["image"]>,
): PvcFilesystemPlan {
  if (found.kind !== "file")
    throw new DiskError("UNSUPPORTED_FORMAT", name, `${path} is a ${found.kind}, not an image file`, {
      path,
    });
  const image = usableImage(name, path, facts.imageFacts!);
  const options = optionsFor(disk, facts.directIo!);
  const mismatch = headerMismatch(path, facts.imageFacts!);
  const notes = (...n: Array<string | undefined>) => {
    const text = [mismatch, ...n].filter(Boolean).join("; ");
    return text ? { note: text } : {};
  };
  const current = image.virtualSizeBytes;
  // Everything the image may ever occupy must fit in what it occupies now plus what is free, or the guest
  // eventually meets ENOSPC and QEMU pauses it.
  const holdable = unreported ? Infinity : found.allocatedBytes + space.availableBytes;
  if (current > holdable)
    throw new DiskError(
      "IMAGE_TOO_LARGE",
      name,
      `${path} is ${formatBytes(current)}, but ${source.mountPath} can hold at most ${formatBytes(holdable)} ` +
        `(${formatBytes(found.allocatedBytes)} already allocated + ${formatBytes(space.availableBytes)} free); ` +
        "expand the claim",
      { path },
    );

  const target =
    source.capacityBytes !== undefined && !disk.readOnly ? usableImageBytes(source.capacityBytes) : undefined;
  if (target !== undefined && target > current) {
    if (target <= holdable)
      return {
        action: "grow",
        path,
        format: image.format,
        fromBytes: current,
        toBytes: target,
        options,
        ...notes(unreported ? UNREPORTED : undefined),
      };
    return {
      action: "use",
      path,
      format: image.format,
      sizeBytes: current,
      options,
      ...notes(
        `claim capacity ${formatBytes(source.capacityBytes!)} would allow ${formatBytes(target)}, but the filesystem ` +
          `holds only ${formatBytes(holdable)}; not growing until the filesystem is expanded`,
      ),
    };
  }
  return { action: "use", path, format: image.format, sizeBytes: current, options, ...notes() };
}

/** A Filesystem-mode PersistentVolumeClaim: `disk.img` at the root of the mount, kept across restarts. */
export const pvcFilesystem: DiskKind<Source, PvcFilesystemFacts, PvcFilesystemPlan> = {
  inspect,
  plan: (disk, source, facts) => planPvcFilesystem(disk, source, facts),
  async apply(disk, plan, env) {
    const { fs, images, log } = env.deps;
    if (plan.action === "create") {
      // 0660: the pod's fsGroup owns the claim, so the group may need to open the image (as KubeVirt does).
      await fs.createSparse(plan.path, plan.sizeBytes, 0o660);
      log.info(
        { disk: disk.name, path: plan.path, sizeBytes: plan.sizeBytes },
        "created a sparse disk image on the claim",
      );
    } else if (plan.action === "grow") {
      if (plan.format === "raw") await fs.grow(plan.path, plan.toBytes);
      else await images.resize(plan.path, plan.toBytes);
      log.info(
        {
          disk: disk.name,
          path: plan.path,
          fromBytes: plan.fromBytes,
          toBytes: plan.toBytes,
          format: plan.format,
        },
        "grew the disk image to the claim's new capacity",
      );
    }
    if (plan.note) log.warn({ disk: disk.name, path: plan.path }, plan.note);
    return preparedDisk(disk, { path: plan.path, format: plan.format }, plan.options);
  },
};
