/**
 * Runs one ResourcePlugin per resource and keeps them honest: device health and the kubelet's presence are
 * checked on one timer, and the pure `decideKubeletAction` says when to serve again and re-register.
 *
 * Polling rather than fs.watch: inotify misses a device node that vanishes with a devtmpfs remount and a
 * kubelet.sock recreated in a directory mounted from the host; one stat per file every couple of seconds
 * costs nothing and behaves the same everywhere.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { API_VERSION, KUBELET_SOCKET } from "./api.ts";
import type { DevicePluginConfig } from "./config.ts";
import { decideKubeletAction, type SocketIdentity } from "./kubelet.ts";
import type { DevicePluginMetrics } from "./metrics.ts";
import { PLUGIN_OPTIONS, ResourcePlugin } from "./plugin.ts";
import { registerWithKubelet } from "./registration.ts";
import { type SyncResult, syncLauncherNode } from "./launcher-nodes.ts";
import { type HostDevice, hostDevices } from "./resources.ts";

/** Side effects the manager needs, injectable for tests of its control flow. */
export interface ManagerDeps {
  /**
   * Keeps the launcher's node of `device` in step with the host's node; `ready` when it can be handed
   * out. Throws DevicePluginError NODE_FAILED when the node cannot be made.
   */
  syncNode(device: HostDevice, nodeDir: string): Promise<SyncResult>;
  /** Identity of a socket file, or undefined when absent. */
  socketIdentity(path: string): Promise<SocketIdentity | undefined>;
  /** Registers with the kubelet. */
  register: typeof registerWithKubelet;
}

/** The real side effects. */
export const nodeDeps: ManagerDeps = {
  syncNode: syncLauncherNode,
  async socketIdentity(path) {
    try {
      const s = await stat(path, { bigint: true });
      return s.isSocket() ? `${s.ino}:${s.ctimeNs}` : undefined;
    } catch {
      return undefined;
    }
  },
  register: registerWithKubelet,
};

/** Owns the plugins of all configured resources. */
export class DevicePluginManager {
  readonly #config: DevicePluginConfig;
  readonly #log: Logger;
  readonly #deps: ManagerDeps;
  readonly #metrics: DevicePluginMetrics | undefined;
  readonly #plugins: ResourcePlugin[];
  #registeredWith: SocketIdentity | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(
    config: DevicePluginConfig,
    logger: Logger,
    options: { deps?: ManagerDeps; metrics?: DevicePluginMetrics } = {},
  ) {
    this.#config = config;
    this.#log = logger;
    this.#deps = options.deps ?? nodeDeps;
    this.#metrics = options.metrics;
    this.#plugins = hostDevices(config, config.resources).map(
      (device) =>
        new ResourcePlugin(device, {
          dir: config.devicePluginDir,
          slots: config.slots,
          logger,
          ...(config.netsetupDir ? { netsetupHostDir: config.hostNetsetupDir ?? config.netsetupDir } : {}),
          ...(options.metrics ? { metrics: options.metrics } : {}),
        }),
    );
  }

  /** True once every resource is registered with the current kubelet. */
  get registered(): boolean {
    return this.#registeredWith !== undefined;
  }

  /** The plugins, one per resource. */
  get plugins(): readonly ResourcePlugin[] {
    return this.#plugins;
  }

  /** Checks health, serves, registers, and keeps doing so every poll interval until stop(). */
  async start(): Promise<void> {
    await this.#checkHealth();
    for (const plugin of this.#plugins) await plugin.start();
    await this.tick();
    this.#schedule();
  }

  /** One round: device health, then what the kubelet needs. Exposed so tests need not wait for the timer. */
  async tick(): Promise<void> {
    // One round at a time: a slow registration must not overlap the next timer tick.
    while (this.#ticking) await this.#ticking;
    this.#ticking = this.#round().finally(() => (this.#ticking = undefined));
    await this.#ticking;
  }

  /** Stops the timer and the servers, removing their sockets. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    while (this.#ticking) await this.#ticking;
    for (const plugin of this.#plugins) await plugin.stop();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.tick()
        .catch((err: unknown) => this.#log.error({ err }, "device plugin round failed"))
        .finally(() => this.#schedule());
    }, this.#config.pollIntervalMs);
  }

  async #checkHealth(): Promise<void> {
    for (const plugin of this.#plugins) {
      let healthy = false;
      try {
        const result = await this.#deps.syncNode(plugin.device, this.#config.nodeDir);
        healthy = result.ready;
        if (result.action === "make" || result.action === "remove")
          this.#log.info(
            { resource: plugin.device.resourceName, node: plugin.device.nodePath, host: result.host },
            result.action === "make"
              ? "made the launcher's device node (root:107 0660) from the host's"
              : "removed the launcher's device node: the host's is gone",
          );
      } catch (err) {
        // Unhealthy rather than fatal: the kubelet then schedules no launcher here, and the log says why.
        this.#log.error({ err, resource: plugin.device.resourceName }, "launcher device node not ready");
      }
      plugin.setHealth(healthy);
    }
  }

  async #round(): Promise<void> {
    if (this.#stopped) return;
    await this.#checkHealth();
    const kubeletPath = join(this.#config.devicePluginDir, KUBELET_SOCKET);
    const kubeletSocket = await this.#deps.socketIdentity(kubeletPath);
    const own = await Promise.all(this.#plugins.map((p) => this.#deps.socketIdentity(p.socketPath)));
    const action = decideKubeletAction(this.#registeredWith, {
      kubeletSocket,
      ownSocketsPresent: own.every((id) => id !== undefined),
    });
    if (action === "none") return;
    if (action === "wait") {
      if (this.#registeredWith !== undefined)
        this.#log.warn({ kubeletPath }, "kubelet socket gone; waiting for the kubelet");
      this.#registeredWith = undefined;
      return;
    }
    if (action === "restart-and-register") {
      this.#log.info(
        { kubeletPath },
        "kubelet restarted or our sockets vanished: serving again and re-registering",
      );
      for (const plugin of this.#plugins) {
        await plugin.stop();
        await plugin.start();
      }
    }
    this.#registeredWith = undefined;
    for (const plugin of this.#plugins) {
      const resource = plugin.device.resourceName;
      try {
        await this.#deps.register(kubeletPath, {
          version: API_VERSION,
          endpoint: plugin.endpoint,
          resource_name: resource,
          options: PLUGIN_OPTIONS,
        });
        this.#metrics?.registration(resource, "success");
        this.#log.info({ resource, endpoint: plugin.endpoint }, "registered with the kubelet");
      } catch (err) {
        // Left unregistered: the next round tries again, so the poll interval is the retry back-off.
        this.#metrics?.registration(resource, "error");
        this.#log.error({ err, resource }, "registration failed; retrying next round");
        return;
      }
    }
    this.#registeredWith = kubeletSocket;
  }
}
