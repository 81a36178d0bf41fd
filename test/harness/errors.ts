/** Stable codes for every way the test harness can fail. */
export type HarnessErrorCode =
  | "BINARY_MISSING"
  | "PORT_IN_USE"
  | "COMPONENT_EXITED"
  | "START_TIMEOUT"
  | "COMMAND_FAILED"
  | "COMMAND_TIMEOUT"
  | "EXTERNAL_CLUSTER"
  | "PKI_FAILED"
  | "INVALID_OPTIONS";

/** Fields a harness error may carry besides its message. */
export interface HarnessErrorDetails {
  /** The component or program that failed, e.g. "etcd" or "kubectl". */
  component?: string;
  /** The log file holding that component's output. */
  logPath?: string;
  /** The underlying error. */
  cause?: unknown;
}

/** Base class of harness errors: a stable `code`, the failing component and where its log is. */
export class HarnessError extends Error {
  /** Stable machine-readable code. */
  readonly code: HarnessErrorCode;
  /** The component or program that failed. */
  readonly component: string | undefined;
  /** Log file of that component, when there is one. */
  readonly logPath: string | undefined;

  constructor(code: HarnessErrorCode, message: string, details: HarnessErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.component = details.component;
    this.logPath = details.logPath;
  }
}

/** A binary the harness needs is not where it looks; the message says how to build it. */
export class BinaryMissingError extends HarnessError {
  /** The path that was checked. */
  readonly path: string;

  constructor(component: string, path: string, cause?: unknown) {
    super(
      "BINARY_MISSING",
      `${component} not found or not executable at ${path}; run scripts/k8s/build.sh ` +
        `(or set VIREO_K8S_BIN to a directory holding ${component})`,
      { component, cause },
    );
    this.path = path;
  }
}

/** A component could not bind its port because something else holds it. */
export class PortInUseError extends HarnessError {
  /** The port that was taken. */
  readonly port: number | undefined;

  constructor(component: string, port: number | undefined, logPath: string, cause?: unknown) {
    super(
      "PORT_IN_USE",
      `${component} could not listen on 127.0.0.1:${port ?? "?"}: address already in use (log: ${logPath})`,
      { component, logPath, cause },
    );
    this.port = port;
  }
}

/** A component process exited when it should have been running. */
export class ComponentExitedError extends HarnessError {
  constructor(component: string, exit: string, logPath: string, logTail: string) {
    super(
      "COMPONENT_EXITED",
      `${component} exited unexpectedly (${exit}); log: ${logPath}\n--- last lines ---\n${logTail}`,
      { component, logPath },
    );
  }
}

/** A component did not become ready before its deadline. */
export class StartTimeoutError extends HarnessError {
  constructor(component: string, timeoutMs: number, logPath: string, lastProblem: string) {
    super(
      "START_TIMEOUT",
      `${component} was not ready after ${Math.round(timeoutMs / 1000)} s (last check: ${lastProblem}); log: ${logPath}`,
      { component, logPath },
    );
  }
}

/** A command-line program (kubectl, helm) exited non-zero. */
export class CommandFailedError extends HarnessError {
  /** Exit code, or null when killed by a signal. */
  readonly exitCode: number | null;
  /** Captured standard output. */
  readonly stdout: string;
  /** Captured standard error. */
  readonly stderr: string;

  constructor(
    program: string,
    args: readonly string[],
    exitCode: number | null,
    stdout: string,
    stderr: string,
  ) {
    super(
      "COMMAND_FAILED",
      `${program} ${args.join(" ")} exited with ${exitCode ?? "a signal"}: ${stderr.trim()}`,
      {
        component: program,
      },
    );
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** A command-line program did not finish before its deadline and was killed. */
export class CommandTimeoutError extends HarnessError {
  constructor(program: string, args: readonly string[], timeoutMs: number) {
    super(
      "COMMAND_TIMEOUT",
      `${program} ${args.join(" ")} did not finish within ${timeoutMs} ms and was killed`,
      {
        component: program,
      },
    );
  }
}
