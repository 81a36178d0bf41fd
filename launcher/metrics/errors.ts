/** Stable codes for the ways collecting a metric source can fail. */
export type MetricsErrorCode = "METRICS_DEADLINE" | "METRICS_BUSY" | "METRICS_PARSE";

/** A host file or QMP reply did not have the shape the collector expects. */
export class MetricsParseError extends Error {
  /** Stable machine-readable code. */
  readonly code = "METRICS_PARSE" satisfies MetricsErrorCode;

  constructor(
    /** Which file or QMP command the value came from. */
    readonly path: string,
    message: string,
    cause?: unknown,
  ) {
    super(`${path}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = "MetricsParseError";
  }
}

/** A metric source did not finish within the scrape deadline, or its previous call still hangs. */
export class MetricsDeadlineError extends Error {
  /** `METRICS_DEADLINE`: timed out now; `METRICS_BUSY`: not started because the previous call never returned. */
  readonly code: Extract<MetricsErrorCode, "METRICS_DEADLINE" | "METRICS_BUSY">;

  constructor(
    code: Extract<MetricsErrorCode, "METRICS_DEADLINE" | "METRICS_BUSY">,
    /** The metric source (`status`, `blockstats`, ...). */
    readonly source: string,
    readonly deadlineMs: number,
  ) {
    super(
      code === "METRICS_BUSY"
        ? `metrics source ${source}: the previous collection is still pending`
        : `metrics source ${source}: no result within ${deadlineMs} ms`,
    );
    this.name = "MetricsDeadlineError";
    this.code = code;
  }
}
