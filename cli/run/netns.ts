import { runChecked } from "../../lib/process/run.ts";

const run = (file: string, args: string[]) => runChecked([file, ...args]);

/** The standalone "pod": a network namespace with `eth0`, linked by a veth pair to this host only. */
export interface PodNetns {
  name: string;
  /** The host end of the veth pair. */
  hostIf: string;
  hostIp: string;
  podIp: string;
  prefixLength: number;
}

/**
 * Test-network block (RFC 2544's 198.18.0.0/15, never routed on the internet), cut into /30 links: the
 * host takes .1, the pod .2. The pod gets no default route, so nothing it sends can leave this machine
 * through the host.
 */
export function podLink(index: number): { hostIp: string; podIp: string; prefixLength: number } {
  const base = (198 << 24) + (18 << 16) + (index % 32768) * 4;
  const ip = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
  return { hostIp: ip(base + 1), podIp: ip(base + 2), prefixLength: 30 };
}

/** Addresses already on this host's interfaces (to pick a free link). */
async function hostAddresses(): Promise<Set<string>> {
  const stdout = await run("ip", ["-4", "-o", "addr", "show"]);
  return new Set([...stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!));
}

/** Creates the namespace, the veth pair and the addresses; removes what it made if a step fails. */
export async function createPodNetns(id: number): Promise<PodNetns> {
  const name = `vireo-run-${id}`;
  const hostIf = `vr${id}`.slice(0, 15);
  const used = await hostAddresses();
  let index = id % 32768;
  while (used.has(podLink(index).hostIp)) index = (index + 1) % 32768;
  const link = podLink(index);
  const ns = { name, hostIf, ...link };
  await run("ip", ["netns", "add", name]);
  try {
    const steps: string[][] = [
      ["link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", name],
      ["addr", "add", `${link.hostIp}/${link.prefixLength}`, "dev", hostIf],
      ["link", "set", hostIf, "up"],
      ["-n", name, "link", "set", "lo", "up"],
      ["-n", name, "addr", "add", `${link.podIp}/${link.prefixLength}`, "dev", "eth0"],
      ["-n", name, "link", "set", "eth0", "up"],
    ];
    for (const args of steps) await run("ip", args);
  } catch (err) {
    await removePodNetns(ns);
    throw new Error(`cannot create the standalone pod network: ${(err as Error).message}`, { cause: err });
  }
  return ns;
}

/** Deletes the namespace (which deletes its end of the veth, and so the pair); absent is fine. */
export async function removePodNetns(ns: Pick<PodNetns, "name" | "hostIf">): Promise<void> {
  await run("ip", ["netns", "del", ns.name]).catch(() => {});
  await run("ip", ["link", "del", ns.hostIf]).catch(() => {});
}
