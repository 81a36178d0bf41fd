/**
 * Serving a running VM: the console hub, metrics, the HTTP health server and the control socket. Loaded off
 * the path to QEMU's start (see run.ts) and attached while QEMU waits paused.
 */
import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { metricsSocketPath, type ControlRequest } from "../../crds/contract/index.ts";
import type { ConsoleHub } from "../console/hub.ts";
import type { CollectorRegistrar } from "../http/registry.ts";
import type { AcceleratorChoice } from "../preflight/accel.ts";
import type { PreparedDisk, PreparedNic } from "../prepared.ts";
import type { QemuProcess } from "../qemu/process.ts";
import type { QmpClient } from "../qemu/qmp-client.ts";
import type { RuntimeFiles } from "../qemu/runtime-files.ts";
import type { Logger } from "./logger.ts";
import type { VmDriver } from "./vm-driver.ts";
import { migrationControl, type MigrationSession } from "../migration/session.ts";

/** The modules that serve a running VM, loaded off the path to QEMU's start. */
export async function loadServing() {
  const [hub, registry, server, control, metricsSocket, agent, agentControl] = await Promise.all([
    import("../console/hub.ts"),
    import("../http/registry.ts"),
    import("../http/server.ts"),
    import("../control/server.ts"),
    import("../metrics/socket.ts"),
    import("../agent/guest-agent.ts"),
    import("../agent/control.ts"),
  ]);
  return {
    ConsoleHub: hub.ConsoleHub,
    createRegistry: registry.createRegistry,
    registerCollectors: registry.registerCollectors,
    startHealthServer: server.startHealthServer,
    startControlServer: control.startControlServer,
    serveMetricsSocket: metricsSocket.serveMetricsSocket,
    GuestAgent: agent.GuestAgent,
    agentControl: agentControl.agentControl,
    isAgentCommand: agentControl.isAgentCommand,
  };
}

/** What serving needs: the VM as it runs, and where to listen. */
export interface ServeInputs {
  config: LauncherConfig;
  files: RuntimeFiles;
  accel: AcceleratorChoice;
  disks: PreparedDisk[];
  nics: PreparedNic[];
  qemu: QemuProcess;
  qmp: QmpClient;
  driver: VmDriver;
  log: Logger;
  /** Overrides config.http (tests). */
  http?: { port: number; host?: string } | undefined;
  collectors?: CollectorRegistrar[] | undefined;
  /** This launcher's part in a live migration (migrate-* control commands). */
  migration?: MigrationSession | undefined;
}

/**
 * Starts everything that serves the VM and returns the HTTP port. Each part started is pushed onto
 * `cleanups` at once, so a failure halfway leaves nothing behind once the caller runs them.
 */
export async function serveVm(
  serving: ReturnType<typeof loadServing>,
  v: ServeInputs,
  cleanups: (() => Promise<void> | void)[],
): Promise<number> {
  const m = await serving;
  const { config, files, driver, log } = v;
  let hub: ConsoleHub | undefined;
  if (config.devices.serialConsole) {
    hub = await m.ConsoleHub.start({ serialSocket: files.serialSocket, consoleSocket: files.consoleSocket });
    cleanups.push(() => hub?.close());
  }
  // The agent channel exists from QEMU's start; the guest opens its end once qemu-guest-agent runs.
  const pollSeconds = Number(process.env.VIREO_AGENT_POLL_SECONDS ?? "30");
  const agent = new m.GuestAgent({
    socketPath: files.agentSocket,
    log,
    pollMs: (Number.isFinite(pollSeconds) && pollSeconds > 0 ? pollSeconds : 30) * 1000,
  });
  agent.start();
  cleanups.push(() => agent.close());
  driver.useAgent(agent);
  const registry = m.createRegistry();
  m.registerCollectors(
    registry,
    {
      config,
      accelerator: () => v.accel.accel,
      disks: () => v.disks,
      nics: () => v.nics,
      qemuPid: () => (v.qemu.exit ? undefined : v.qemu.pid),
      qmp: () => (v.qmp.closed ? undefined : v.qmp),
    },
    {
      onError: (source, err) => log.debug({ source, err: String(err) }, "metrics collection failed"),
      extra: v.collectors ?? [],
    },
  );
  const http = await m.startHealthServer(
    { status: () => driver.status, registry },
    v.http?.port ?? config.http.port,
    v.http?.host,
  );
  cleanups.push(() => http.close());
  // The node's collector reads the same registry here: with the bridge binding :9100 is the guest's.
  const metricsSocket = await m.serveMetricsSocket(registry, metricsSocketPath(config.paths.runDir));
  cleanups.push(() => metricsSocket.close());
  const handle = async (request: ControlRequest): Promise<unknown> => {
    const { command } = request;
    if (m.isAgentCommand(command)) return m.agentControl(agent, request);
    switch (command) {
      case "status":
        return driver.status;
      case "logs":
        return { console: hub?.recent().toString("utf8") ?? "" };
      case "pause":
      case "unpause":
        return driver.control(command);
      case "migrate-listen":
      case "migrate-start":
      case "migrate-cancel":
      case "migrate-status":
        if (!v.migration) throw new Error("migration is not available in this launcher");
        return migrationControl(v.migration, command, request.migration);
      case "resize-disk": {
        if (!request.resize) throw new Error("resize-disk needs resize: {disk, capacityBytes}");
        const { resizeRunningDisk } = await import("../storage/online-resize-run.ts");
        const r = await resizeRunningDisk(config, v.disks, v.qmp, request.resize);
        log.info({ ...r }, r.action === "grow" ? "disk grown online" : "disk resize: unchanged");
        return r;
      }
    }
  };
  const control = await m.startControlServer(files.controlSocket, handle);
  cleanups.push(() => control.close());
  return http.port;
}
