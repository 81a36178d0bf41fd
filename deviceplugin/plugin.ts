/** One gRPC DevicePlugin server for one resource, on a unix socket in the kubelet's device-plugin directory. */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  type AllocateRequest,
  type AllocateResponse,
  type DevicePluginOptions,
  type ListAndWatchResponse,
  loadDevicePluginApi,
} from "./api.ts";
import { allocate, deviceList } from "./devices.ts";
import { DevicePluginError } from "./errors.ts";
import type { DevicePluginMetrics } from "./metrics.ts";
import { endpointFor, type HostDevice } from "./resources.ts";

/** Options the plugin sends at registration: no PreStartContainer, no preferred allocation (slots are alike). */
export const PLUGIN_OPTIONS: DevicePluginOptions = {
  pre_start_required: false,
  get_preferred_allocation_available: false,
};

type Empty = Record<string, never>;

/** Serves ListAndWatch and Allocate for one host device; health is pushed in by its owner. */
export class ResourcePlugin {
  readonly #device: HostDevice;
  readonly #dir: string;
  readonly #slots: number;
  readonly #log: Logger;
  readonly #metrics: DevicePluginMetrics | undefined;
  readonly #streams = new Set<ServerWritableStream<Empty, ListAndWatchResponse>>();
  #server: Server | undefined;
  #healthy = false;
  readonly #netsetupHostDir: string | undefined;

  constructor(
    device: HostDevice,
    opts: {
      dir: string;
      slots: number;
      logger: Logger;
      metrics?: DevicePluginMetrics;
      netsetupHostDir?: string;
    },
  ) {
    this.#netsetupHostDir = opts.netsetupHostDir;
    this.#device = device;
    this.#dir = opts.dir;
    this.#slots = opts.slots;
    this.#log = opts.logger.child({ resource: device.resourceName });
    this.#metrics = opts.metrics;
  }

  /** The host device this plugin hands out. */
  get device(): HostDevice {
    return this.#device;
  }

  /** Socket file name, relative to the device-plugin directory (the RegisterRequest endpoint). */
  get endpoint(): string {
    return endpointFor(this.#device.name);
  }

  /** Absolute socket path. */
  get socketPath(): string {
    return join(this.#dir, this.endpoint);
  }

  /** Current health of the host device as last reported. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Sets the device health; on a change every ListAndWatch stream gets the new list. */
  setHealth(healthy: boolean): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.#log.info(
      { probePath: this.#device.probePath, hostPath: this.#device.hostPath, healthy },
      healthy ? "device present, launcher node ready" : "device missing: reporting Unhealthy",
    );
    this.#metrics?.setHealth(this.#device.resourceName, healthy, this.#slots);
    for (const stream of this.#streams) stream.write(this.#list());
  }

  /** Starts serving on a fresh socket (a stale file from an earlier run is removed first). */
  async start(): Promise<void> {
    if (this.#server) return;
    await rm(this.socketPath, { force: true });
    const api = loadDevicePluginApi();
    const server = new Server();
    server.addService(api.devicePluginService, {
      GetDevicePluginOptions: (
        _call: ServerUnaryCall<Empty, DevicePluginOptions>,
        cb: sendUnaryData<DevicePluginOptions>,
      ) => cb(null, PLUGIN_OPTIONS),
      ListAndWatch: (call: ServerWritableStream<Empty, ListAndWatchResponse>) => this.#listAndWatch(call),
      Allocate: (
        call: ServerUnaryCall<AllocateRequest, AllocateResponse>,
        cb: sendUnaryData<AllocateResponse>,
      ) => this.#allocate(call.request, cb),
      GetPreferredAllocation: (_call: unknown, cb: sendUnaryData<unknown>) =>
        cb({ code: status.UNIMPLEMENTED, details: "no preferred allocation: all slots are alike" }),
      PreStartContainer: (_call: unknown, cb: sendUnaryData<Empty>) => cb(null, {}),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${this.socketPath}`, ServerCredentials.createInsecure(), (err) =>
        err
          ? reject(
              new DevicePluginError("SERVE_FAILED", `cannot serve on ${this.socketPath}: ${err.message}`, {
                cause: err,
              }),
            )
          : resolve(),
      ),
    );
    this.#server = server;
    this.#metrics?.setHealth(this.#device.resourceName, this.#healthy, this.#slots);
    this.#log.info({ socket: this.socketPath, slots: this.#slots }, "serving");
  }

  /** Ends the streams, stops the server and removes the socket. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
    if (server) {
      // A graceful shutdown waits for calls in flight; the kubelet keeps ListAndWatch open, so bound it.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await rm(this.socketPath, { force: true });
  }

  #list(): ListAndWatchResponse {
    return { devices: deviceList(this.#device, this.#slots, this.#healthy) };
  }

  #listAndWatch(call: ServerWritableStream<Empty, ListAndWatchResponse>): void {
    this.#streams.add(call);
    const forget = () => this.#streams.delete(call);
    call.on("cancelled", forget);
    call.on("close", forget);
    call.on("error", forget);
    call.write(this.#list());
  }

  #allocate(request: AllocateRequest, cb: sendUnaryData<AllocateResponse>): void {
    try {
      const response = allocate(this.#device, this.#slots, this.#healthy, request, this.#netsetupHostDir);
      this.#metrics?.allocation(this.#device.resourceName, "success");
      cb(null, response);
    } catch (err) {
      const e = err as DevicePluginError;
      this.#metrics?.allocation(this.#device.resourceName, "error");
      this.#log.warn({ err: e.message, code: e.code }, "allocation refused");
      cb({
        code: e.code === "UNKNOWN_DEVICE" ? status.INVALID_ARGUMENT : status.FAILED_PRECONDITION,
        details: e.message,
      });
    }
  }
}
