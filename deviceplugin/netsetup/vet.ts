/**
 * What the node agent refuses to run even when the planner made it: the plan is computed on the node
 * from a tenant's launcher config, so every word that reaches `ip`, `sysctl` or `nft` is checked to stay
 * inside the pod's network namespace (no `netns` moves, no host files, no global sysctls).
 */
import type { NetPlan } from "../../launcher/network/plan-types.ts";
import { NetsetupError } from "./errors.ts";

const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const ADDRESS = /^[0-9a-fA-F.:]+(\/\d{1,3})?$/;
// Namespaced network sysctls only: a non-initial namespace's /proc/sys/net shows only per-namespace keys.
const SYSCTL = /^net\.(ipv4|ipv6)\.[a-z0-9_]+(\.[A-Za-z0-9_-]{1,15})?(\.[a-z0-9_]+)?$/;
const TABLE = /^[A-Za-z0-9_-]{1,64}$/;
// Statements of nft's language that read host files or name other namespaces.
const NFT_FORBIDDEN = /\b(include|netns)\b/;

/** Throws PLAN_REFUSED unless every step of `plan` stays inside one network namespace and owes taps to `owner`. */
export function vetPlan(plan: NetPlan, owner: { uid: number; gid: number }): void {
  const refuse = (why: string): never => {
    throw new NetsetupError("PLAN_REFUSED", `the planned network setup was refused: ${why}`);
  };
  const name = (n: string | undefined, what: string) => {
    if (n !== undefined && !IFNAME.test(n)) refuse(`${what} ${JSON.stringify(n)} is not an interface name`);
  };
  for (const s of plan.steps) {
    switch (s.op) {
      case "sysctl":
        if (!SYSCTL.test(s.key)) refuse(`sysctl ${JSON.stringify(s.key)} is not a namespaced network sysctl`);
        break;
      case "bridge":
        name(s.name, "bridge");
        break;
      case "tap":
        name(s.name, "tap");
        if (s.uid !== owner.uid || s.gid !== owner.gid)
          refuse(
            `tap ${s.name} would be owned by ${s.uid}:${s.gid}, not the launcher's ${owner.uid}:${owner.gid}`,
          );
        break;
      case "link":
        name(s.dev, "link");
        name(s.master, "master");
        break;
      case "addr":
        name(s.dev, "link");
        if (!ADDRESS.test(s.cidr)) refuse(`address ${JSON.stringify(s.cidr)}`);
        break;
      case "route":
        name(s.dev, "link");
        if (!ADDRESS.test(s.dst)) refuse(`route ${JSON.stringify(s.dst)}`);
        break;
      case "neigh":
        name(s.dev, "link");
        if (!ADDRESS.test(s.address)) refuse(`neighbour ${JSON.stringify(s.address)}`);
        break;
      case "nftables":
        if (!TABLE.test(s.table)) refuse(`nftables table ${JSON.stringify(s.table)}`);
        if (NFT_FORBIDDEN.test(s.ruleset)) refuse(`nftables table ${s.table} uses include or netns`);
        break;
    }
  }
}
