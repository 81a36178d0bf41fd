/**
 * The agent's answers to the info commands, parsed leniently and bounded: the guest chooses every field, so
 * an item that does not fit its schema is skipped (not the whole answer), strings are cut to
 * AGENT_REPORT_LIMITS.text and lists to their limits. Pure.
 */
import { z } from "zod";
import { AGENT_REPORT_LIMITS as L, type GuestInfo } from "../../crds/contract/guest-agent.ts";

const cut = (s: string) => (s.length > L.text ? s.slice(0, L.text) : s);
const str = z.string().transform(cut);
const num = z.number().finite();

/** Items of an array answer that fit `item`, at most `max` of them; anything else yields []. */
function items<T>(answer: unknown, item: z.ZodType<T>, max: number): T[] {
  if (!Array.isArray(answer)) return [];
  const out: T[] = [];
  for (const a of answer) {
    if (out.length >= max) break;
    const r = item.safeParse(a);
    if (r.success) out.push(r.data);
  }
  return out;
}

const osInfo = z.object({
  id: str.optional(),
  name: str.optional(),
  "pretty-name": str.optional(),
  version: str.optional(),
  "version-id": str.optional(),
  "kernel-release": str.optional(),
  "kernel-version": str.optional(),
  machine: str.optional(),
});

/** guest-get-osinfo → osInfo. */
export function osInfoOf(answer: unknown): GuestInfo["osInfo"] {
  const r = osInfo.safeParse(answer);
  if (!r.success) return undefined;
  const o = r.data;
  return dropUndefined({
    id: o.id,
    name: o.name,
    prettyName: o["pretty-name"],
    version: o.version,
    versionId: o["version-id"],
    kernelRelease: o["kernel-release"],
    kernelVersion: o["kernel-version"],
    machine: o.machine,
  });
}

/** guest-get-host-name → hostname. */
export function hostnameOf(answer: unknown): string | undefined {
  const r = z.object({ "host-name": str }).safeParse(answer);
  return r.success ? r.data["host-name"] : undefined;
}

/** guest-get-timezone → zone and offset (the agent may omit the zone name). */
export function timezoneOf(answer: unknown): GuestInfo["timezone"] {
  const r = z.object({ zone: str.optional(), offset: z.int() }).safeParse(answer);
  return r.success ? { zone: r.data.zone ?? "", offsetSeconds: r.data.offset } : undefined;
}

/** guest-info → the agent's version. */
export function agentVersionOf(answer: unknown): string | undefined {
  const r = z.object({ version: str }).safeParse(answer);
  return r.success ? r.data.version : undefined;
}

const address = z.object({ "ip-address": str, "ip-address-type": z.enum(["ipv4", "ipv6"]).optional() });
const iface = z.object({
  name: str,
  "hardware-address": str.optional(),
  "ip-addresses": z.array(z.unknown()).optional(),
});

/** guest-network-get-interfaces → interfaces with their addresses; loopback is left out. */
export function interfacesOf(answer: unknown): GuestInfo["interfaces"] {
  const all = items(answer, iface, 64).filter((i) => i.name !== "lo");
  return all.slice(0, L.interfaces).map((i) =>
    dropUndefined({
      name: i.name,
      mac: i["hardware-address"],
      ips: items(i["ip-addresses"], address, L.ipsPerInterface).map((a) => a["ip-address"]),
    }),
  );
}

const fs = z.object({
  name: str,
  mountpoint: str,
  type: str,
  "used-bytes": num.min(0).optional(),
  "total-bytes": num.min(0).optional(),
  disk: z.array(z.unknown()).optional(),
});
const fsDisk = z.object({ dev: str.optional(), serial: str.optional() });

/** guest-get-fsinfo → filesystems (with each one's device names). */
export function filesystemsOf(answer: unknown): GuestInfo["filesystems"] {
  return items(answer, fs, L.filesystems).map((f) => {
    const disks = items(f.disk, fsDisk, 16)
      .map((d) => d.dev ?? d.serial)
      .filter((d): d is string => d !== undefined);
    return dropUndefined({
      name: f.name,
      mountpoint: f.mountpoint,
      type: f.type,
      usedBytes: f["used-bytes"],
      totalBytes: f["total-bytes"],
      disks: disks.length ? disks : undefined,
    });
  });
}

const user = z.object({ user: str, domain: str.optional(), "login-time": num.optional() });

/** guest-get-users → users. */
export function usersOf(answer: unknown): GuestInfo["users"] {
  return items(answer, user, L.users).map((u) =>
    dropUndefined({ name: u.user, domain: u.domain, loginTime: u["login-time"] }),
  );
}

/** The object without its undefined fields (the report is compared and written as JSON). */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
