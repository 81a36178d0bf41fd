/**
 * Reads each running VM's guest agent report from its launcher — `vireo-launcher agent` through pods/exec,
 * the way the CLI does, so the launcher holds no API credentials and nothing listens on the pod network
 * for it — at a modest interval, keeps the part status carries, and wakes the VM's reconcile only when
 * that part changed. One read per VM per interval, a few at a time: the interval bounds both the exec load
 * and how often a guest that flips its answers can make the operator write status.
 */
import { PassThrough } from "node:stream";
import { Exec, type KubeConfig, type V1Pod, type V1Status } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { agentReportSchema, LAUNCHER_BIN, LAUNCHER_CONTAINER } from "../../crds/contract/index.ts";
import type { AgentObservation } from "../reconcile/decide/guest-agent.ts";
import { observationOf } from "./observation.ts";

/** What the reader needs. */
export interface AgentReaderDeps {
  /** The VMs with a running launcher pod now: key and pod. */
  running(): { key: string; pod: V1Pod }[];
  /** Wakes a VM's reconcile. */
  enqueue(key: string): void;
  /** Runs `vireo-launcher agent` in the pod and returns its stdout (tests inject one). */
  exec?: (pod: V1Pod) => Promise<string>;
  kubeConfig?: KubeConfig;
  log: Logger;
  /** Between reads of one VM; default 60 s. */
  intervalMs?: number;
  /** Reads at once; default 4. */
  parallel?: number;
}

/** The reads; see the file comment. */
export class AgentReader {
  readonly #d: AgentReaderDeps;
  readonly #reports = new Map<string, AgentObservation>();
  readonly #json = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(d: AgentReaderDeps) {
    this.#d = d;
  }

  /** The last report of a VM's launcher, if any. */
  get(key: string): AgentObservation | undefined {
    return this.#reports.get(key);
  }

  /** Starts reading every interval. */
  async start(): Promise<void> {
    const every = this.#d.intervalMs ?? 60_000;
    this.#timer = setInterval(() => void this.tick(), every);
    this.#timer.unref();
  }

  /** Stops reading. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
  }

  /** One round over the running VMs (also called by tests); rounds do not overlap. */
  async tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const all = this.#d.running();
      const live = new Set(all.map((r) => r.key));
      for (const key of [...this.#reports.keys()]) if (!live.has(key)) this.#forget(key);
      const queue = [...all];
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await this.#read(next.key, next.pod);
      };
      await Promise.all(Array.from({ length: this.#d.parallel ?? 4 }, worker));
    } finally {
      this.#running = false;
    }
  }

  async #read(key: string, pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    let observation: AgentObservation;
    try {
      const out = await (this.#d.exec ?? ((p) => execAgent(this.#d.kubeConfig!, p)))(pod);
      observation = observationOf(uid, agentReportSchema.parse(JSON.parse(out)));
    } catch (err) {
      // An old launcher without the command, a pod going away: nothing to report, try next round.
      this.#d.log.debug({ vm: key, err: (err as Error).message }, "guest agent report not read");
      return;
    }
    const json = JSON.stringify(observation);
    if (this.#json.get(key) === json) return;
    this.#reports.set(key, observation);
    this.#json.set(key, json);
    this.#d.enqueue(key);
  }

  #forget(key: string): void {
    this.#reports.delete(key);
    this.#json.delete(key);
  }
}

/** `vireo-launcher agent` in the pod's launcher container; resolves with its stdout, rejects unless exit 0. */
export async function execAgent(kc: KubeConfig, pod: V1Pod, timeoutMs = 20_000): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  let size = 0;
  out.on("data", (c: Buffer) => {
    size += c.length;
    // The report is bounded by the launcher (~100 KiB at most); more is not a report.
    if (size <= 1024 * 1024) chunks.push(c);
  });
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(
    pod.metadata?.namespace ?? "default",
    pod.metadata?.name ?? "",
    LAUNCHER_CONTAINER,
    [LAUNCHER_BIN, "agent"],
    out,
    null,
    null,
    false,
    (s) => (status = s),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (status?.status !== "Success")
    throw new Error(`vireo-launcher agent: ${status?.message ?? "no status"}`);
  return Buffer.concat(chunks).toString("utf8");
}
