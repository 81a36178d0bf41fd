/**
 * Port-forward to a bridge-bound guest: the guest owns the pod IP, and `kubectl port-forward` dials
 * 127.0.0.1 in the pod's namespace, where nothing of the guest is. For each declared TCP port the launcher
 * listens on 127.0.0.1:port and splices every connection to the guest's address over the bridge.
 *
 * Why userspace: the kernel path (DNAT from 127.0.0.1) needs `route_localnet`, which a read-only /proc/sys
 * refuses. Why not socat: one process per port and connection to supervise; node:net's sockets with
 * pipe() carry backpressure both ways, which is all a splice needs.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { NetworkError } from "./errors.ts";
import type { SplicePlan } from "./plan-types.ts";

/** Connections open at once per port; more are closed on accept (a port-forward opens one per client). */
export const SPLICE_MAX_CONNECTIONS = 64;
/** How long a connection to the guest may take to open before the client's is closed. */
export const SPLICE_CONNECT_TIMEOUT_MS = 10_000;

/** Running splices. */
export interface Splices {
  /** Connections accepted, refused for the bound and failed towards the guest, per port. */
  counts(): Record<number, { accepted: number; refused: number; failed: number; open: number }>;
  close(): Promise<void>;
}

/** Options of {@link startSplices}. */
export interface SpliceOptions {
  maxConnections?: number;
  connectTimeoutMs?: number;
  /** Listen address; default 127.0.0.1 (tests of the splice alone may change the guest side only). */
  listenHost?: string;
  logger?: Logger;
}

/** Pipes two sockets into each other; either side's end or error closes both. */
function join(client: Socket, guest: Socket, done: () => void): void {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    client.destroy();
    guest.destroy();
    done();
  };
  client.pipe(guest);
  guest.pipe(client);
  for (const s of [client, guest]) {
    s.once("close", close);
    s.once("error", close);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: 64, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Listens on every planned port; on failure closes what it opened and throws SERVICE_FAILED. */
export async function startSplices(
  plans: readonly SplicePlan[],
  options: SpliceOptions = {},
): Promise<Splices> {
  const max = options.maxConnections ?? SPLICE_MAX_CONNECTIONS;
  const timeout = options.connectTimeoutMs ?? SPLICE_CONNECT_TIMEOUT_MS;
  const host = options.listenHost ?? "127.0.0.1";
  const counts: ReturnType<Splices["counts"]> = {};
  const servers: Server[] = [];
  const open = new Set<Socket>();
  for (const plan of plans) {
    const c = (counts[plan.port] = { accepted: 0, refused: 0, failed: 0, open: 0 });
    const server = createServer({ pauseOnConnect: true }, (client) => {
      if (c.open >= max) {
        c.refused += 1;
        client.destroy();
        return;
      }
      c.accepted += 1;
      c.open += 1;
      open.add(client);
      const guest = connect({ host: plan.guestIp, port: plan.port, localAddress: plan.sourceIp, timeout });
      open.add(guest);
      guest.once("timeout", () => guest.destroy(new Error(`no answer from the guest within ${timeout} ms`)));
      let connected = false;
      guest.once("connect", () => {
        connected = true;
        guest.setTimeout(0);
        client.resume();
      });
      guest.once("error", (err) => {
        if (!connected) c.failed += 1;
        options.logger?.debug({ err, port: plan.port }, "port-forward splice: guest connection failed");
      });
      join(client, guest, () => {
        c.open -= 1;
        open.delete(client);
        open.delete(guest);
      });
    });
    servers.push(server);
    try {
      await listen(server, plan.port, host);
    } catch (cause) {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      throw new NetworkError(
        "SERVICE_FAILED",
        `cannot listen on ${host}:${plan.port} for the port-forward splice to the guest: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  return {
    counts: () => structuredClone(counts),
    async close() {
      for (const s of open) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
