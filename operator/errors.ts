/** Errors the operator raises; each has a stable `code` for logs, metrics and callers. */
import type { Problem } from "../crds/api/validate.ts";

/** Base class: a stable code and an optional cause. */
export class OperatorError extends Error {
  constructor(
    /** Stable machine-readable code. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The operator's flags or environment are invalid. */
export class InvalidConfigError extends OperatorError {
  constructor(
    /** Each bad setting with its path. */
    readonly problems: Problem[],
    options?: { cause?: unknown },
  ) {
    super("InvalidConfig", problems.map((p) => `${p.path}: ${p.message}`).join("\n"), options);
  }
}

/** A Kubernetes API request failed; `status` is the HTTP status (0 when no response arrived). */
export class KubeApiError extends OperatorError {
  constructor(
    readonly status: number,
    /** The Status object's `reason` (e.g. AlreadyExists, Conflict, NotFound), when the server sent one. */
    readonly reason: string | undefined,
    message: string,
    /** Method and path of the request. */
    readonly request: string,
    options?: { cause?: unknown },
  ) {
    super(
      "KubeApi",
      `${request}: ${status || "no response"}${reason ? ` ${reason}` : ""}: ${message}`,
      options,
    );
  }
}

/** True when `err` is a {@link KubeApiError} with one of the given HTTP statuses. */
export function isApiStatus(err: unknown, ...statuses: number[]): err is KubeApiError {
  return err instanceof KubeApiError && statuses.includes(err.status);
}
