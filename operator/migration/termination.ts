/**
 * A source launcher's termination message after a completed migration (launcher/supervisor/outcome.ts):
 * `migrated: …; downtime_ms=N transferred_bytes=N total_ms=N` → figures. Pure; bounded (the message is
 * clamped by the kubelet, and only these three keys are read).
 */

/** QEMU's figures as the migration's status keeps them. */
export interface MigratedFigures {
  downtimeMilliseconds?: number;
  transferredBytes?: number;
}

/** Parses the figures out of a `migrated:` termination message; missing or malformed keys are left out. */
export function migratedFigures(message: string): MigratedFigures {
  const value = (key: string) => {
    const m = new RegExp(`(?:^|[ ;])${key}=(\\d{1,15})(?:$|\\s)`).exec(message.slice(0, 4096));
    return m ? Number(m[1]) : undefined;
  };
  const out: MigratedFigures = {};
  const downtime = value("downtime_ms");
  const bytes = value("transferred_bytes");
  if (downtime !== undefined) out.downtimeMilliseconds = downtime;
  if (bytes !== undefined) out.transferredBytes = bytes;
  return out;
}
