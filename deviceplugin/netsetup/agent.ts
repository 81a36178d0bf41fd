/**
 * The node network-setup agent: one unix socket per tun slot, in the directory the device plugin's
 * Allocate mounts into the container that got the slot. A caller is served only when the kernel
 * (SO_PEERCRED) puts it in a pod's container and the kubelet (pod-resources) shows that slot allocated;
 * then launcher/network's planner and executor run inside the caller's network namespace, and the result
 * goes back for the launcher to record. See docs/security.md ("Node network setup").
 */
import { chmod, mkdir, open, readFile, readlink, rm, type FileHandle } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import {
  LAUNCHER_GID,
  LAUNCHER_UID,
  NODE_NETSETUP_MAX_REQUEST_BYTES,
  NODE_NETSETUP_SOCKET,
} from "../../crds/contract/index.ts";
import { commandHost } from "../../launcher/network/host.ts";
import { setupPodNetwork } from "../../launcher/network/setup.ts";
import { readNetworkState, writeNetworkState } from "../../launcher/network/state-file.ts";
import { NetsetupError } from "./errors.ts";
import { holdersOf, podOfCgroup, type DeviceHolder, type PodResourcesList } from "./identity.ts";
import { peerCredentials } from "./peer.ts";
import { listPodResources } from "./pod-resources.ts";
import { parseRequest } from "./request.ts";
import { vetPlan } from "./vet.ts";

/** Options of {@link NetsetupAgent}. */
export interface NetsetupAgentOptions {
  /** Where the per-slot directories live (the device plugin mounts `${dir}/${slot}`). */
  dir: string;
  /** The slots of the tun resource, e.g. `tun-0` … */
  slotIds: readonly string[];
  /** Full resource name the slots belong to (devices.vireo.dev/tun). */
  resourceName: string;
  /** The agent's own records of what it set up, one file per pod UID. */
  stateDir: string;
  /** The kubelet's List; default the real pod-resources socket. */
  listPods?: () => Promise<PodResourcesList>;
  /** Where processes are seen (default /proc; the agent needs the host's pid namespace). */
  procDir?: string;
  nsenterPath?: string;
  logger: Logger;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** Reads one newline-terminated line of at most `max` bytes. */
function readLine(socket: Socket, max: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error, line?: string) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      if (err) reject(err);
      else resolve(line!);
    };
    const timer = setTimeout(
      () => done(new NetsetupError("BAD_REQUEST", "no request line in time")),
      timeoutMs,
    );
    const onEnd = () => done(new NetsetupError("BAD_REQUEST", "the connection ended before a request line"));
    const onData = (chunk: Buffer) => {
      const nl = chunk.indexOf(10);
      chunks.push(nl < 0 ? chunk : chunk.subarray(0, nl));
      size += nl < 0 ? chunk.length : nl;
      if (size > max) done(new NetsetupError("BAD_REQUEST", `the request is longer than ${max} bytes`));
      else if (nl >= 0) done(undefined, Buffer.concat(chunks).toString("utf8"));
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
  });
}

/** Field 22 of /proc/<pid>/stat: the start time that tells a pid from its reuse. */
const startTime = (stat: string) => stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];

/** The per-slot sockets and the checks in front of the setup. */
export class NetsetupAgent {
  readonly #o: NetsetupAgentOptions;
  readonly #servers: Server[] = [];
  /** One setup at a time per slot: a second connection waits for the first. */
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(options: NetsetupAgentOptions) {
    this.#o = options;
  }

  /** Socket path of `slot` as this process sees it. */
  socketPath(slot: string): string {
    return join(this.#o.dir, slot, NODE_NETSETUP_SOCKET);
  }

  /** Creates every slot's directory and socket (stale ones from an earlier run are replaced). */
  async start(): Promise<void> {
    await mkdir(this.#o.stateDir, { recursive: true, mode: 0o700 });
    for (const slot of this.#o.slotIds) {
      await mkdir(join(this.#o.dir, slot), { recursive: true, mode: 0o755 });
      const path = this.socketPath(slot);
      await rm(path, { force: true });
      const server = createServer((socket) => this.#serve(slot, socket));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => resolve());
      });
      // Any uid in the container may connect: who it is, the kernel and the kubelet say, not the mode.
      await chmod(path, 0o666);
      this.#servers.push(server);
    }
    this.#o.logger.info({ dir: this.#o.dir, slots: this.#o.slotIds.length }, "node network setup serving");
  }

  /** Closes every socket. */
  async stop(): Promise<void> {
    await Promise.all(this.#servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
    await Promise.all(this.#o.slotIds.map((slot) => rm(this.socketPath(slot), { force: true })));
  }

  #serve(slot: string, socket: Socket): void {
    socket.on("error", () => socket.destroy());
    const previous = this.#busy.get(slot) ?? Promise.resolve();
    const run = previous.then(() => this.#handle(slot, socket)).catch(() => undefined);
    this.#busy.set(slot, run);
  }

  async #handle(slot: string, socket: Socket): Promise<void> {
    const log = this.#o.logger.child({ slot });
    const reply = (body: object) =>
      new Promise<void>((resolve) => socket.end(JSON.stringify(body) + "\n", () => resolve()));
    let netns: FileHandle | undefined;
    try {
      const peer = peerCredentials(socket);
      const line = await readLine(socket, NODE_NETSETUP_MAX_REQUEST_BYTES, REQUEST_TIMEOUT_MS);
      const request = parseRequest(line);
      const { podUid, holder, fd } = await this.#identify(slot, peer.pid);
      netns = fd;
      log.info({ pid: peer.pid, uid: peer.uid, podUid, ...holder }, "setting up a pod's network");
      const nsPath = `/proc/${process.pid}/fd/${fd.fd}`;
      const statePath = join(this.#o.stateDir, podUid);
      const result = await setupPodNetwork(request.config, {
        host: commandHost({ prefix: [this.#o.nsenterPath ?? "nsenter", `--net=${nsPath}`] }),
        texts: { resolvConf: request.resolvConf, networkStatus: request.networkStatus },
        store: {
          read: async () => (
            await mkdir(statePath, { recursive: true, mode: 0o700 }),
            readNetworkState(statePath)
          ),
          write: (state) => writeNetworkState(statePath, state),
        },
        vet: (plan) => vetPlan(plan, { uid: LAUNCHER_UID, gid: LAUNCHER_GID }),
        logger: log,
      }).catch((err: unknown) => {
        if (err instanceof NetsetupError) throw err;
        const code = (err as { code?: string }).code ?? "ERROR";
        throw new NetsetupError("SETUP_FAILED", `[${code}] ${(err as Error).message}`, { cause: err });
      });
      await reply({
        ok: true,
        state: { version: 1, applied: true, facts: result.facts, plan: result.plan },
        commands: result.commands.length,
        warnings: result.warnings,
      });
    } catch (err) {
      const e =
        err instanceof NetsetupError ? err : new NetsetupError("SETUP_FAILED", (err as Error).message);
      log.warn({ code: e.code, err: e.message }, "node network setup refused or failed");
      await reply({ ok: false, code: e.code, message: e.message });
    } finally {
      await netns?.close();
    }
  }

  /**
   * Who is calling on `slot`: its pod (cgroup), the container the kubelet allocated the slot to, and a
   * descriptor of its network namespace, pinned while the pid is known to be the same process.
   */
  async #identify(
    slot: string,
    pid: number,
  ): Promise<{ podUid: string; holder: DeviceHolder; fd: FileHandle }> {
    const proc = this.#o.procDir ?? "/proc";
    const gone = (cause: unknown) => new NetsetupError("PEER_GONE", `process ${pid} went away`, { cause });
    const [stat, cgroup] = await Promise.all([
      readFile(`${proc}/${pid}/stat`, "utf8"),
      readFile(`${proc}/${pid}/cgroup`, "utf8"),
    ]).catch((cause: unknown) => {
      throw gone(cause);
    });
    const pod = podOfCgroup(cgroup);
    if (!pod)
      throw new NetsetupError(
        "NOT_A_POD",
        `process ${pid} is not in a pod's container (cgroup ${cgroup.trim().split("\n")[0]})`,
      );
    const holders = holdersOf(await (this.#o.listPods ?? listPodResources)(), this.#o.resourceName, slot);
    if (holders.length !== 1)
      throw new NetsetupError(
        "NO_DEVICE",
        holders.length
          ? `the kubelet shows ${slot} held by ${holders.length} containers`
          : `the kubelet shows no container holding ${this.#o.resourceName} ${slot}: this caller's pod was not allocated a Vireo device`,
      );
    const fd = await open(`${proc}/${pid}/ns/net`, "r").catch((cause: unknown) => {
      throw gone(cause);
    });
    try {
      const [again, own, ...nodes] = await Promise.all([
        readFile(`${proc}/${pid}/stat`, "utf8"),
        fd.stat(),
        // The node's namespace (init's, readable with the host's pid namespace) and the agent's own.
        ...["1", "self"].map((p) => readlink(`${proc}/${p}/ns/net`).catch(() => "")),
      ]);
      if (startTime(again) !== startTime(stat)) throw gone(undefined);
      if (nodes.includes(`net:[${own.ino}]`))
        throw new NetsetupError("NOT_A_POD", `process ${pid} is in the node's own network namespace`);
      return { podUid: pod.podUid, holder: holders[0]!, fd };
    } catch (err) {
      await fd.close();
      throw err instanceof NetsetupError ? err : gone(err);
    }
  }
}
