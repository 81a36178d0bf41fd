import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import {
  CONTROL_ERRORS,
  controlRequestSchema,
  type ControlRequest,
  type ControlResponse,
} from "../../crds/contract/index.ts";

/** Carries out a control command (the supervisor provides it). */
export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/** The running control socket. */
export interface ControlServer {
  close(): Promise<void>;
}

/**
 * The launcher's control socket: one JSON request line, one JSON response line per connection. It is a
 * unix socket with mode 0600 in the run directory, so only the launcher's user — in a pod, whoever may
 * `kubectl exec` into it — can pause or resume the guest; there is no control port on the network.
 */
export async function startControlServer(path: string, handle: ControlHandler): Promise<ControlServer> {
  rmSync(path, { force: true });
  const server: Server = createServer((conn) => {
    let buf = "";
    conn.setEncoding("utf8");
    conn.on("error", () => {});
    conn.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const reply = (r: ControlResponse) => conn.end(JSON.stringify(r) + "\n");
      let request: ControlRequest;
      try {
        request = controlRequestSchema.parse(JSON.parse(buf.slice(0, nl)));
      } catch (err) {
        return reply({
          ok: false,
          error: { code: CONTROL_ERRORS.BAD_REQUEST, message: (err as Error).message },
        });
      }
      handle(request).then(
        (result) => reply({ ok: true, result }),
        (err: Error & { code?: string }) =>
          reply({ ok: false, error: { code: err.code ?? CONTROL_ERRORS.FAILED, message: err.message } }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(path, { force: true });
      }),
  };
}
