/**
 * The current state of a network namespace as the executor sees it, parsed from `ip -json` output.
 * Parsing is pure (unit-tested on captured output); the host adapter only runs the commands.
 */
import { NetworkError } from "./errors.ts";
import type { PodFacts, PodInterface, PodRoute } from "./facts.ts";

/** A link with the attributes the plan cares about. */
export interface LiveLink {
  name: string;
  mac: string;
  mtu: number;
  /** Administratively up. */
  up: boolean;
  /** `bridge`, `tun`, `veth`… (absent for plain devices). */
  kind?: string;
  master?: string;
  /** Bridge-port learning (only for bridge ports). */
  learning?: boolean;
  /** Owner of a tun/tap device; a group may arrive as a name and is resolved by the caller. */
  tapOwner?: { uid?: number; gid?: number };
}

/** An address on a link. */
export interface LiveAddr {
  dev: string;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  scope: string;
}

/** A route of the main table; host routes are normalised to `/32` or `/128`. */
export interface LiveRoute {
  family: 4 | 6;
  dst: string;
  dev?: string;
  gateway?: string;
  scope?: string;
}

/** A neighbour (ARP/NDP) entry. */
export interface LiveNeighbor {
  dev: string;
  address: string;
  mac?: string;
  permanent: boolean;
}

/** Everything the executor compares a plan with. */
export interface LiveState {
  links: LiveLink[];
  addrs: LiveAddr[];
  routes: LiveRoute[];
  neighbors: LiveNeighbor[];
  /** Values of the sysctls the plan touches (undefined: the key does not exist yet). */
  sysctls: Record<string, number | undefined>;
  /** Digest of each nftables table the plan touches (`family name` → digest; undefined: no such table). */
  nftDigests: Record<string, string | undefined>;
}

/** The part of the live state `ip` reports. */
export type IpState = Omit<LiveState, "sysctls" | "nftDigests">;

/** The `ip -json -details -batch` commands whose output {@link parseIpBatch} reads, in order. */
export const IP_READ_BATCH = ["link show", "addr show", "route show table main", "neigh show"];
/**
 * IPv6 routes, read by a second `ip -json -6` (a batch line cannot choose the family); its output is
 * appended to the batch's as the last document.
 */
export const IP_READ_ROUTES6 = ["-json", "-6", "route", "show", "table", "main"];

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" ? v : undefined);
const num = (v: unknown) =>
  typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined;

function parseLink(j: Json, gidOf: (group: string) => number | undefined): LiveLink {
  const info = (j.linkinfo ?? {}) as Json;
  const data = (info.info_data ?? {}) as Json;
  const slave = (info.info_slave_data ?? {}) as Json;
  const kind = str(info.info_kind);
  const flags = Array.isArray(j.flags) ? (j.flags as string[]) : [];
  const group = data.group;
  const link: LiveLink = {
    name: String(j.ifname),
    mac: String(j.address ?? ""),
    mtu: Number(j.mtu),
    up: flags.includes("UP"),
  };
  if (kind) link.kind = kind;
  if (str(j.master)) link.master = String(j.master);
  if (typeof slave.learning === "boolean") link.learning = slave.learning;
  if (kind === "tun") {
    const uid = num(data.user);
    const gid = num(group) ?? (typeof group === "string" ? gidOf(group) : undefined);
    link.tapOwner = { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
  }
  return link;
}

function parseAddrs(links: Json[]): LiveAddr[] {
  return links.flatMap((l) =>
    ((l.addr_info ?? []) as Json[]).flatMap((a): LiveAddr[] => {
      const family = a.family === "inet" ? 4 : a.family === "inet6" ? 6 : undefined;
      if (!family || !str(a.local)) return [];
      return [
        {
          dev: String(l.ifname),
          family,
          address: String(a.local),
          prefixLength: Number(a.prefixlen),
          scope: String(a.scope ?? "global"),
        },
      ];
    }),
  );
}

function parseRoute(r: Json, family: 4 | 6): LiveRoute {
  const dst = String(r.dst);
  const host = family === 4 ? 32 : 128;
  const route: LiveRoute = { family, dst: dst === "default" || dst.includes("/") ? dst : `${dst}/${host}` };
  if (str(r.dev)) route.dev = String(r.dev);
  if (str(r.gateway)) route.gateway = String(r.gateway);
  if (str(r.scope)) route.scope = String(r.scope);
  return route;
}

function parseNeighbor(n: Json): LiveNeighbor {
  const state = Array.isArray(n.state) ? (n.state as string[]) : [];
  return {
    dev: String(n.dev),
    address: String(n.dst),
    ...(str(n.lladdr) ? { mac: String(n.lladdr) } : {}),
    permanent: state.includes("PERMANENT"),
  };
}

/**
 * Parses the output of `ip -json -details -batch -` fed {@link IP_READ_BATCH}, then that of
 * {@link IP_READ_ROUTES6}: one JSON array per line.
 * `gidOf` resolves group names (ip prints a tap's group by name when the group database knows it).
 */
export function parseIpBatch(
  output: string,
  gidOf: (group: string) => number | undefined = () => undefined,
): IpState {
  const lines = output.split("\n").filter((l) => l.trim());
  if (lines.length !== IP_READ_BATCH.length + 1)
    throw new NetworkError(
      "FACTS_INVALID",
      `ip printed ${lines.length} JSON documents, expected ${IP_READ_BATCH.length + 1}`,
    );
  let docs: Json[][];
  try {
    docs = lines.map((l) => JSON.parse(l) as Json[]);
  } catch (cause) {
    throw new NetworkError("FACTS_INVALID", "ip printed malformed JSON", { cause });
  }
  const [links, addrs, routes, neighbors, routes6] = docs as [Json[], Json[], Json[], Json[], Json[]];
  return {
    links: links.map((l) => parseLink(l, gidOf)),
    addrs: parseAddrs(addrs),
    routes: [...routes.map((r) => parseRoute(r, 4)), ...routes6.map((r) => parseRoute(r, 6))],
    neighbors: neighbors.filter((n) => str(n.dst) && str(n.dev)).map(parseNeighbor),
  };
}

const notLinkScope6 = (r: LiveRoute) => r.family === 4 || !/^(fe80|ff[0-9a-f]{2}):/i.test(r.dst);

/** Reads the digest out of `nft list table` text (the table comment `vireo <digest>`). */
export function parseNftDigest(listing: string): string | undefined {
  return /comment "vireo ([0-9a-f]+)"/.exec(listing)?.[1];
}

/**
 * The pod facts visible in a namespace's state: every link but loopback, global addresses only, the routes
 * of the main table but IPv6's per-link `fe80::/64` and multicast ones (every link has them; they say nothing
 * about the pod network). resolv.conf and the Multus annotation come from files and are added by the
 * caller.
 */
export function factsFromState(state: Pick<LiveState, "links" | "addrs" | "routes">): Omit<PodFacts, "dns"> {
  const interfaces: PodInterface[] = state.links
    .filter((l) => l.name !== "lo")
    .map((l) => ({
      name: l.name,
      mac: l.mac.toLowerCase(),
      mtu: l.mtu,
      addresses: state.addrs
        .filter((a) => a.dev === l.name && a.scope === "global")
        .map((a) => ({ family: a.family, address: a.address, prefixLength: a.prefixLength })),
    }));
  const routes: PodRoute[] = state.routes.filter(notLinkScope6).map((r) => ({
    family: r.family,
    dst: r.dst,
    ...(r.gateway ? { gateway: r.gateway } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
    ...(r.scope ? { scope: r.scope } : {}),
  }));
  return { interfaces, routes };
}
