/** Stable error codes of the device plugin. */
export type DevicePluginErrorCode =
  | "INVALID_CONFIG"
  | "PROTO_MISSING"
  | "SERVE_FAILED"
  | "REGISTER_FAILED"
  | "UNKNOWN_DEVICE"
  | "DEVICE_UNHEALTHY"
  | "NODE_FAILED";

/** An error of the device plugin with a stable `code`. */
export class DevicePluginError extends Error {
  /** Stable, machine-readable code. */
  readonly code: DevicePluginErrorCode;

  constructor(code: DevicePluginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DevicePluginError";
    this.code = code;
  }
}
