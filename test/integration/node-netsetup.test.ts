/**
 * The node network-setup agent as a real process (root, the machine's pid namespace) on real unix sockets:
 * a launcher (uid 107, no capabilities, inside a pod network namespace the test makes, in a kubepods-style
 * cgroup) asks it over the slot's socket; the agent identifies the caller by SO_PEERCRED, asks a
 * pod-resources server speaking the kubelet's own gRPC protocol (podresources v1 List) whether the slot
 * is allocated, and plumbs the caller's namespace (bridge binding) with launcher/network's planner and
 * executor. A caller whose pod holds no Vireo device, or that is no pod's container, is refused with the
 * namespace untouched.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Server, ServerCredentials, type sendUnaryData } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceName } from "../../crds/contract/index.ts";
import type { PodResourcesList } from "../../deviceplugin/netsetup/identity.ts";
import { podResourcesLister } from "../../deviceplugin/netsetup/pod-resources.ts";
import { readNetworkState } from "../../launcher/network/index.ts";
import {
  asUnprivileged,
  bootGuest,
  createTopology,
  startLauncherSide,
  TOPOLOGY,
  startProcess,
  testLauncherConfig,
  type TestProcess,
  type Topology,
} from "../../launcher/network/testing/index.ts";

const AGENT_SIDE = fileURLToPath(
  new URL("../../deviceplugin/netsetup/testing/agent-side.ts", import.meta.url),
);
const CALLER_SIDE = fileURLToPath(
  new URL("../../launcher/network/testing/node-setup-side.ts", import.meta.url),
);
const TUN = resourceName("tun");

/** A cgroup hierarchy this machine lets the test make directories in (v1 pids, or v2). */
async function cgroupRoot(): Promise<string> {
  for (const root of ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) {
    const probe = join(root, `vireo-probe-${randomBytes(3).toString("hex")}`);
    try {
      await mkdir(probe);
      await rmdir(probe);
      return root;
    } catch {
      continue;
    }
  }
  throw new Error("no writable cgroup hierarchy");
}

interface CallerResult {
  ok: boolean;
  code?: string;
  message?: string;
  uid?: number;
}

describe("node network setup agent", () => {
  let topo: Topology;
  let other: Topology;
  let agent: TestProcess;
  let podResources: Server;
  let list: PodResourcesList = { pod_resources: [] };
  const cgroups: string[] = [];
  let root: string;
  let agentDir: string;

  /** A kubepods-style cgroup of a pod's container (cgroupfs driver layout), removed in afterAll. */
  async function podCgroup(): Promise<string> {
    const dir = join(root, `vireo-kubepods-${randomBytes(2).toString("hex")}`, "kubepods", "besteffort");
    const path = join(dir, `pod${randomUUID()}`, randomBytes(32).toString("hex"));
    await mkdir(path, { recursive: true });
    cgroups.push(path);
    return path;
  }

  /** Runs the launcher's request from namespace `t.pod` as uid 107, in `cgroup` (if any), on `slot`. */
  async function call(t: Topology, slot: string, cgroup: string | undefined): Promise<CallerResult> {
    const config = testLauncherConfig(t.runDir, { binding: "bridge" });
    const configPath = join(t.dir, `config-${randomBytes(2).toString("hex")}.json`);
    await writeFile(configPath, JSON.stringify(config));
    const enter = cgroup ? ["sh", "-c", `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, "sh"] : [];
    const p = t.track(
      startProcess([
        ...enter,
        ...asUnprivileged(t.pod),
        process.execPath,
        "--import",
        "tsx",
        CALLER_SIDE,
        configPath,
        join(agentDir, slot, "netsetup.sock"),
        t.resolvConf,
      ]),
    );
    await p.exited;
    const line = p
      .output()
      .split("\n")
      .find((l) => l.startsWith("{"));
    if (!line) throw new Error(`caller printed no result: ${p.output()}`);
    return JSON.parse(line) as CallerResult;
  }

  const links = async (t: Topology) =>
    JSON.parse(await t.exec(t.pod, ["ip", "-json", "-details", "link", "show"])) as {
      ifname: string;
      linkinfo?: { info_data?: { user?: number } };
    }[];

  beforeAll(async () => {
    root = await cgroupRoot();
    [topo, other] = await Promise.all([createTopology(), createTopology()]);
    agentDir = join(topo.dir, "node-netsetup");
    podResources = new Server();
    podResources.addService(podResourcesLister().service, {
      List: (_call: unknown, cb: sendUnaryData<PodResourcesList>) => cb(null, list),
    });
    const podResourcesSocket = join(topo.dir, "pod-resources.sock");
    await new Promise<void>((resolve, reject) =>
      podResources.bindAsync(`unix://${podResourcesSocket}`, ServerCredentials.createInsecure(), (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    agent = topo.track(
      startProcess([
        process.execPath,
        "--import",
        "tsx",
        AGENT_SIDE,
        agentDir,
        join(topo.dir, "agent-state"),
        podResourcesSocket,
        "tun-0",
        "tun-1",
      ]),
    );
    for (let i = 0; i < 200 && !agent.output().includes("ready"); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(agent.output()).toContain("ready");
  }, 60_000);

  afterAll(async () => {
    await Promise.all([topo?.destroy(), other?.destroy()]);
    podResources?.forceShutdown();
    for (const path of cgroups) {
      // Leaf (container), pod, besteffort, kubepods, then the test's own top directory.
      for (let dir = path, i = 0; i < 5; i++, dir = join(dir, "..")) await rmdir(dir).catch(() => undefined);
    }
  });

  it("refuses a caller whose pod holds no Vireo device, leaving its namespace untouched", async () => {
    list = {
      pod_resources: [
        {
          name: "somebody-else",
          namespace: "t1",
          containers: [{ name: "launcher", devices: [{ resource_name: TUN, device_ids: ["tun-0"] }] }],
        },
        { name: "no-devices", namespace: "t2", containers: [{ name: "app", devices: [] }] },
      ],
    };
    const r = await call(other, "tun-1", await podCgroup());
    expect(r).toMatchObject({ ok: false, code: "NOT_SET_UP" });
    expect(r.message).toContain("[NO_DEVICE]");
    expect((await links(other)).map((l) => l.ifname).sort()).toEqual(["eth0", "lo"]);
    expect(await readNetworkState(other.runDir)).toBeUndefined();
  }, 120_000);

  it("refuses a caller that is no pod's container", async () => {
    list = {
      pod_resources: [
        {
          name: "vm",
          namespace: "t1",
          containers: [{ name: "launcher", devices: [{ resource_name: TUN, device_ids: ["tun-1"] }] }],
        },
      ],
    };
    const r = await call(other, "tun-1", undefined);
    expect(r).toMatchObject({ ok: false, code: "NOT_SET_UP" });
    expect(r.message).toContain("[NOT_A_POD]");
    expect((await links(other)).map((l) => l.ifname).sort()).toEqual(["eth0", "lo"]);
  }, 120_000);

  it("sets up the namespace of a caller whose pod holds the slot, as the kubelet says", async () => {
    list = {
      pod_resources: [
        {
          name: "vm-a",
          namespace: "t1",
          containers: [{ name: "launcher", devices: [{ resource_name: TUN, device_ids: ["tun-0"] }] }],
        },
      ],
    };
    const cgroup = await podCgroup();
    const r = await call(topo, "tun-0", cgroup);
    expect(r, r.message).toMatchObject({ ok: true, uid: 107 });
    const state = await readNetworkState(topo.runDir);
    expect(state?.applied).toBe(true);
    const all = await links(topo);
    const bridge = state!.plan.steps.find((s) => s.op === "bridge");
    const tap = state!.plan.steps.find((s) => s.op === "tap");
    expect(all.map((l) => l.ifname)).toEqual(
      expect.arrayContaining([
        bridge!.op === "bridge" ? bridge!.name : "",
        tap!.op === "tap" ? tap!.name : "",
      ]),
    );
    expect(all.find((l) => tap!.op === "tap" && l.ifname === tap!.name)?.linkinfo?.info_data?.user).toBe(107);
    // The pod IP moved to the guest: eth0 has no IPv4 address left in the caller's namespace.
    const eth0 = JSON.parse(await topo.exec(topo.pod, ["ip", "-json", "-4", "addr", "show", "dev", "eth0"]));
    expect(eth0[0]?.addr_info ?? []).toEqual([]);
    // Asked again (a launcher restart in the same pod): the agent's own record holds, no command runs.
    const again = await call(topo, "tun-0", cgroup);
    expect(again, again.message).toMatchObject({ ok: true, uid: 107 });
    expect(agent.output()).toMatch(/"commands":0/);
  }, 120_000);

  it("boots a bridge guest whose launcher had its network set up by the agent: DHCP gives it the pod IP, a peer reaches it", async () => {
    const t = await createTopology();
    try {
      list = {
        pod_resources: [
          {
            name: "vm-b",
            namespace: "t1",
            containers: [{ name: "launcher", devices: [{ resource_name: TUN, device_ids: ["tun-1"] }] }],
          },
        ],
      };
      const cgroup = await podCgroup();
      const config = testLauncherConfig(t.runDir, { binding: "bridge" });
      // startNetwork finds no network.json, plans, sees it needs privileges and asks the agent.
      const side = await startLauncherSide(t, config, 60_000, "/nonexistent", {
        socket: join(agentDir, "tun-1", "netsetup.sock"),
        prefix: ["sh", "-c", `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, "sh"],
      });
      expect((await readNetworkState(t.runDir))?.applied).toBe(true);
      const guest = await bootGuest(t, config, side.nics, ["vireo.dhcp=1", "vireo.http=8080"]);
      try {
        const report = await guest.serial.waitForReady(180_000);
        expect(report.addresses[0]).toMatchObject({ iface: "eth0", ip: TOPOLOGY.podIp });
        const body = await t.exec(t.gw, ["curl", "-sS", "-m", "20", `http://${TOPOLOGY.podIp}:8080/`]);
        expect(body).toMatch(/^vireo-guest hostname=/);
      } finally {
        await guest.stop();
        await side.stop();
      }
    } finally {
      await t.destroy();
    }
  }, 300_000);
});
