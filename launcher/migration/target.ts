/**
 * The target side over QMP. QEMU was started with `-incoming defer` and `-S`: it has opened its disks
 * *inactive* (no writes, and QEMU's image locks shared) and waits. `listenIncoming` sets the capabilities and
 * calls `migrate-incoming`; when the stream completes QEMU activates the disks — after the source stopped
 * writing, which is QEMU's inactivation handshake — and this resumes the guest (`cont`) and announces its MAC
 * on every NIC (`announce-self`: gratuitous ARP/RARP, so switches learn the new port).
 */
import type { QmpEvent } from "../qemu/qmp-client.ts";
import { TARGET_CAPABILITIES } from "./plan.ts";
import type { QmpExecutor } from "./source.ts";

/** The QMP calls the target needs (QmpClient has them). */
export interface TargetQmp extends QmpExecutor {
  waitForEvent(name: string, timeoutMs: number, predicate?: (e: QmpEvent) => boolean): Promise<QmpEvent>;
}

/** How an incoming migration ended. */
export type TargetOutcome =
  | { result: "Succeeded"; resumedAtMs: number }
  | { result: "Failed"; reason: "MIGRATION_FAILED" | "MIGRATION_TIMEOUT" | "QEMU_GONE"; message: string };

/** QEMU's announce defaults (its `-global` announce-* values), sent explicitly so they show in logs. */
const ANNOUNCE = { initial: 50, max: 550, rounds: 5, step: 100 };
const FINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * Starts listening on `uri` and resolves once QEMU listens; `completion` settles when the migration ends
 * (or `timeoutMs` passes). A failed incoming migration ends a 7.2 QEMU, which reads as QEMU_GONE.
 */
export async function listenIncoming(
  qmp: TargetQmp,
  o: {
    uri: string;
    timeoutMs: number;
    now?: () => number;
    /** Resumes the guest (default `cont`; the launcher's reducer sends it there). */
    resume?: () => Promise<void>;
  },
): Promise<{ completion: Promise<TargetOutcome> }> {
  await qmp.execute("migrate-set-capabilities", { capabilities: TARGET_CAPABILITIES });
  // Waiting starts before QEMU listens, so no event can slip between the two.
  const ended = qmp.waitForEvent("MIGRATION", o.timeoutMs, (e) => FINAL.has(String(e.data.status)));
  ended.catch(() => {});
  await qmp.execute("migrate-incoming", { uri: o.uri });
  const resume = o.resume ?? (() => qmp.execute("cont").then(() => undefined));
  return { completion: finish(qmp, ended, resume, o.now ?? Date.now) };
}

async function finish(
  qmp: TargetQmp,
  ended: Promise<QmpEvent>,
  resume: () => Promise<void>,
  now: () => number,
): Promise<TargetOutcome> {
  let event: QmpEvent;
  try {
    event = await ended;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "QMP_TIMEOUT")
      return { result: "Failed", reason: "MIGRATION_TIMEOUT", message: String(err) };
    return { result: "Failed", reason: "QEMU_GONE", message: `target QEMU ended: ${(err as Error).message}` };
  }
  if (event.data.status !== "completed")
    return {
      result: "Failed",
      reason: "MIGRATION_FAILED",
      message: `incoming migration ${event.data.status}`,
    };
  await resume();
  const resumedAtMs = now();
  await qmp.execute("announce-self", ANNOUNCE);
  return { result: "Succeeded", resumedAtMs };
}
