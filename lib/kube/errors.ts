/** The one error type of a failed Kubernetes API request, for the operator and the CLI alike. */

/** What a Status object's `details` say about the object a request named. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
}

/**
 * A Kubernetes API request failed; `status` is the HTTP status (0 when no response arrived, with the socket's
 * error as `cause`). `serverMessage` is the Status object's own message, for callers that word errors for people.
 */
export class KubeApiError extends Error {
  /** Stable machine-readable code. */
  readonly code = "KUBE_API";

  constructor(
    readonly status: number,
    /** The Status object's `reason` (e.g. AlreadyExists, Conflict, NotFound), when the server sent one. */
    readonly reason: string | undefined,
    /** The server's message (or the transport's, without an answer). */
    readonly serverMessage: string,
    /** Method and path of the request. */
    readonly request: string,
    options?: { cause?: unknown; details?: StatusDetails },
  ) {
    super(`${request}: ${status || "no response"}${reason ? ` ${reason}` : ""}: ${serverMessage}`, options);
    this.name = "KubeApiError";
    if (options?.details) this.details = options.details;
  }

  /** The Status object's details: a 404 naming the object (rather than its type) carries its name. */
  readonly details?: StatusDetails;
}

/** True when `err` is a {@link KubeApiError} with one of the given HTTP statuses. */
export function isApiStatus(err: unknown, ...statuses: number[]): err is KubeApiError {
  return err instanceof KubeApiError && statuses.includes(err.status);
}
