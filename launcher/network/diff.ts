/**
 * From plan steps and the live state to the commands that close the gap. Pure: a step already satisfied
 * yields nothing, so applying a plan twice runs no command the second time.
 */
import { NetworkError } from "./errors.ts";
import type { LiveLink, LiveState } from "./live-state.ts";
import type { HostStep } from "./plan-types.ts";

/** A change to make: `ip` batch lines, a sysctl write or an nftables transaction. */
export type HostCommand =
  | { kind: "ip"; line: string }
  | { kind: "sysctl"; key: string; value: number; optional: boolean; purpose: string }
  | { kind: "nft"; script: string };

const ip = (line: string): HostCommand => ({ kind: "ip", line });

/** An `nft -f` script that replaces a table atomically (creating it first, so the delete cannot fail). */
export function nftReplaceScript(step: { family: string; table: string; ruleset: string }): string {
  const t = `${step.family} ${step.table}`;
  return `table ${t}\ndelete table ${t}\n${step.ruleset}`;
}

/** Key under which {@link LiveState.nftDigests} holds a table. */
export const nftKey = (family: string, table: string) => `${family} ${table}`;

/**
 * The commands that bring `live` to what `steps` describe, in step order. Links created by an earlier
 * step are tracked in a projected copy so later steps see them.
 */
export function diffSteps(steps: readonly HostStep[], live: LiveState): HostCommand[] {
  const links = new Map(live.links.map((l) => [l.name, { ...l }]));
  const out: HostCommand[] = [];
  for (const step of steps) out.push(...diffStep(step, live, links));
  return out;
}

function diffStep(step: HostStep, live: LiveState, links: Map<string, LiveLink>): HostCommand[] {
  switch (step.op) {
    case "sysctl": {
      const cur = live.sysctls[step.key];
      const ok = cur !== undefined && (step.mode === "atMost" ? cur <= step.value : cur === step.value);
      return ok
        ? []
        : [
            {
              kind: "sysctl",
              key: step.key,
              value: step.value,
              optional: step.optional ?? false,
              purpose: step.purpose,
            },
          ];
    }
    case "bridge": {
      const cur = links.get(step.name);
      if (cur && cur.kind !== "bridge")
        throw new NetworkError(
          "APPLY_FAILED",
          `${step.name} exists but is a ${cur.kind ?? "plain"} link, not a bridge`,
        );
      if (!cur) {
        links.set(step.name, { name: step.name, mac: step.mac, mtu: 1500, up: false, kind: "bridge" });
        return [ip(`link add name ${step.name} address ${step.mac} type bridge`)];
      }
      return cur.mac === step.mac ? [] : [ip(`link set dev ${step.name} address ${step.mac}`)];
    }
    case "tap": {
      const cur = links.get(step.name);
      const owned = cur?.kind === "tun" && cur.tapOwner?.uid === step.uid && cur.tapOwner?.gid === step.gid;
      if (cur && owned) return [];
      links.set(step.name, { name: step.name, mac: "", mtu: 1500, up: false, kind: "tun" });
      // A tap of ours with another owner (the launcher's uid changed) is re-created; QEMU is not running yet.
      return [
        ...(cur ? [ip(`link del dev ${step.name}`)] : []),
        ip(`tuntap add dev ${step.name} mode tap user ${step.uid} group ${step.gid}`),
      ];
    }
    case "link":
      return diffLink(step, links);
    case "addr": {
      const [address, len] = step.cidr.split("/");
      const has = live.addrs.some(
        (a) => a.dev === step.dev && a.address === address && String(a.prefixLength) === len,
      );
      if (step.present) return has ? [] : [ip(`addr add ${step.cidr} dev ${step.dev}`)];
      return has ? [ip(`addr del ${step.cidr} dev ${step.dev}`)] : [];
    }
    case "route": {
      const has = live.routes.some((r) => r.dst === step.dst && r.dev === step.dev && !r.gateway);
      return has ? [] : [ip(`route replace ${step.dst} dev ${step.dev}`)];
    }
    case "neigh": {
      const has = live.neighbors.some(
        (n) => n.dev === step.dev && n.address === step.address && n.permanent && n.mac === step.mac,
      );
      return has
        ? []
        : [ip(`neigh replace ${step.address} lladdr ${step.mac} dev ${step.dev} nud permanent`)];
    }
    case "nftables": {
      if (live.nftDigests[nftKey(step.family, step.table)] === step.digest) return [];
      // Create-then-delete makes the replacement one transaction whether or not the table exists.
      return [{ kind: "nft", script: nftReplaceScript(step) }];
    }
  }
}

function diffLink(step: Extract<HostStep, { op: "link" }>, links: Map<string, LiveLink>): HostCommand[] {
  const cur = links.get(step.dev);
  if (!cur) throw new NetworkError("APPLY_FAILED", `link ${step.dev} does not exist`);
  const out: HostCommand[] = [];
  const set = (what: string) => out.push(ip(`link set dev ${step.dev} ${what}`));
  if (step.mac !== undefined && cur.mac !== step.mac) set(`address ${step.mac}`);
  if (step.mtu !== undefined && cur.mtu !== step.mtu) set(`mtu ${step.mtu}`);
  if (step.master !== undefined && cur.master !== step.master) {
    set(`master ${step.master}`);
    // A new bridge port starts with learning on.
    cur.learning = true;
  }
  if (step.learning !== undefined && cur.learning !== step.learning)
    set(`type bridge_slave learning ${step.learning ? "on" : "off"}`);
  if (step.up !== undefined && cur.up !== step.up) set(step.up ? "up" : "down");
  Object.assign(cur, {
    ...(step.mac !== undefined ? { mac: step.mac } : {}),
    ...(step.mtu !== undefined ? { mtu: step.mtu } : {}),
    ...(step.master !== undefined ? { master: step.master } : {}),
    ...(step.learning !== undefined ? { learning: step.learning } : {}),
    ...(step.up !== undefined ? { up: step.up } : {}),
  });
  return out;
}
