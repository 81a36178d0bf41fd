import { connect } from "node:net";
import { CONTROL_ERRORS, type ControlRequest, type ControlResponse } from "../../crds/contract/index.ts";

/** A control command the launcher refused or could not carry out. */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ControlError";
  }
}

/** Sends one command to a running launcher's control socket and returns its result. */
export function controlRequest(
  path: string,
  command: ControlRequest["command"],
  timeoutMs = 30_000,
  extra: Omit<ControlRequest, "command"> = {},
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buf = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ControlError(CONTROL_ERRORS.TIMEOUT, `no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(JSON.stringify({ command, ...extra }) + "\n"));
    socket.on("data", (chunk: string) => (buf += chunk));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(
        new ControlError(CONTROL_ERRORS.UNREACHABLE, `cannot reach the launcher at ${path}: ${err.message}`, {
          cause: err,
        }),
      );
    });
    socket.on("end", () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(buf) as ControlResponse;
        if (r.ok) resolve(r.result);
        else reject(new ControlError(r.error.code, r.error.message));
      } catch (err) {
        reject(
          new ControlError(CONTROL_ERRORS.PROTOCOL, `bad answer from ${path}: ${buf.slice(0, 200)}`, {
            cause: err,
          }),
        );
      }
    });
  });
}
