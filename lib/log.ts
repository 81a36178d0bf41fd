/**
 * The one logger setup: pino JSON lines on stdout, each tagged with the component that wrote it (and what
 * it works on, e.g. the launcher's VM). Operator, launcher and device plugin all start their logger here.
 */
import { pino, type Logger } from "pino";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level; default $VIREO_LOG_LEVEL, else `info`. */
  level?: string | undefined;
  /** Fields on every line besides `component`. */
  base?: Record<string, unknown>;
}

/** A JSON logger for `component` (`vireo-operator`, `vireo-launcher`, `vireo-device-plugin`). */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  return pino({
    level: options.level ?? process.env.VIREO_LOG_LEVEL ?? "info",
    base: { component, ...options.base },
  });
}

export type { Logger };
