/**
 * Online disk resize, the operator's half, pure: which disks of a running VM to tell about a claim that grew,
 * and what the launcher's answer means (an Event, and whether to ask again). The launcher decides the size
 * itself (launcher/storage/online-resize.ts); the operator only passes the capacity the PVC's status reports
 * — the expansion is done only once status.capacity shows it, never on spec.resources.requests.
 */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { parseQuantity } from "../../crds/api/quantity.ts";
import { CONTROL_ERRORS } from "../../crds/contract/control.ts";
import { formatBytes } from "../../crds/contract/disk-image.ts";

/** A disk of the VM and the claim behind it. */
export interface ClaimDisk {
  disk: string;
  claim: string;
}

/** The VM's disks that are claims: `persistentVolumeClaim` volumes and `dataVolume` volumes (their claim). */
export function claimDisksOf(spec: unknown): ClaimDisk[] {
  const s = spec as {
    volumes?: {
      name?: unknown;
      persistentVolumeClaim?: { claimName?: unknown };
      dataVolume?: { name?: unknown };
    }[];
  };
  return (Array.isArray(s?.volumes) ? s.volumes : []).flatMap((v) => {
    const claim = v?.persistentVolumeClaim?.claimName ?? v?.dataVolume?.name;
    return typeof v?.name === "string" && typeof claim === "string" ? [{ disk: v.name, claim }] : [];
  });
}

/** The capacity a claim's status reports, in bytes, or undefined. */
export function reportedCapacity(pvc: V1PersistentVolumeClaim | undefined): number | undefined {
  const q = pvc?.status?.capacity?.storage;
  const bytes = q === undefined ? undefined : parseQuantity(String(q));
  return bytes === undefined ? undefined : Math.floor(bytes);
}

/** One request to a launcher. */
export interface ResizeRequest extends ClaimDisk {
  capacityBytes: number;
}

/**
 * The requests to send: each claim disk whose reported capacity differs from what this launcher pod was last
 * told (`told`, by disk). A new pod has been told nothing, so each disk is asked once; the launcher answers
 * "unchanged" when the claim is what it started with.
 */
export function planResizes(
  disks: ClaimDisk[],
  capacityOf: (claim: string) => number | undefined,
  told: ReadonlyMap<string, number>,
): ResizeRequest[] {
  return disks.flatMap((d) => {
    const capacityBytes = capacityOf(d.claim);
    return capacityBytes === undefined || told.get(d.disk) === capacityBytes ? [] : [{ ...d, capacityBytes }];
  });
}

/** The launcher's answer to `vireo-launcher resize-disk` (its stdout). */
export type ResizeAnswer =
  | { disk: string; action: "grow"; fromBytes: number; toBytes: number }
  | { disk: string; action: "unchanged"; sizeBytes: number; note?: string }
  | { error: { code: string; message: string } };

/** What an answer means: the Event to record, and whether this capacity counts as told (no asking again). */
export interface ResizeOutcome {
  event?: { type: "Normal" | "Warning"; reason: string; message: string };
  told: boolean;
}

/** Judges an answer. A claim the volume cannot hold yet is asked again later; a shrink is refused once. */
export function judgeResize(r: ResizeRequest, answer: ResizeAnswer): ResizeOutcome {
  if ("error" in answer) {
    if (answer.error.code === CONTROL_ERRORS.SHRINK_REFUSED)
      return {
        told: true,
        event: { type: "Warning", reason: "DiskShrinkRefused", message: answer.error.message },
      };
    return {
      told: false,
      event: {
        type: "Warning",
        reason: "DiskResizePending",
        message: `disk ${r.disk} (claim ${r.claim}, ${formatBytes(r.capacityBytes)}): ${answer.error.message}`,
      },
    };
  }
  if (answer.action === "unchanged") return { told: !answer.note };
  return {
    told: true,
    event: {
      type: "Normal",
      reason: "DiskResized",
      message:
        `disk ${r.disk} grown online from ${formatBytes(answer.fromBytes)} to ${formatBytes(answer.toBytes)} ` +
        `(claim ${r.claim} is ${formatBytes(r.capacityBytes)})`,
    },
  };
}
