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
    super("INVALID_CONFIG", problems.map((p) => `${p.path}: ${p.message}`).join("\n"), options);
  }
}
