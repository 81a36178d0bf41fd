// The device plugin process (bin/vireo-device-plugin.js) against a gRPC fake of the kubelet that speaks the
// real v1beta1 protobuf: registration, ListAndWatch, Allocate, health when a device node disappears, and
// re-registration when the kubelet restarts (wiping the socket directory, as the real one does).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ClientReadableStream,
  credentials,
  Server,
  ServerCredentials,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AllocateRequest,
  type AllocateResponse,
  type ListAndWatchResponse,
  loadDevicePluginApi,
  type RegisterRequest,
} from "../../deviceplugin/api.ts";
import { kvmGid } from "../harness/host-device-modes.ts";
import { eventually } from "../harness/index.ts";
import { freePort } from "../harness/ports.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const api = loadDevicePluginApi();
type Client = InstanceType<ServiceClientConstructor>;

/** The kubelet's side: a Registration server on kubelet.sock that records what arrives. */
class FakeKubelet {
  readonly registrations: RegisterRequest[] = [];
  #server: Server | undefined;
  constructor(readonly socketPath: string) {}

  async start(): Promise<void> {
    const server = new Server();
    server.addService(api.registrationService, {
      Register: (call: { request: RegisterRequest }, cb: (err: null, res: object) => void) => {
        this.registrations.push(call.request);
        cb(null, {});
      },
    });
    await new Promise<void>((res, rej) =>
      server.bindAsync(`unix://${this.socketPath}`, ServerCredentials.createInsecure(), (err) =>
        err ? rej(err) : res(),
      ),
    );
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    server?.forceShutdown();
    await rm(this.socketPath, { force: true });
  }
}

/** A DevicePlugin client on a plugin's socket, as the kubelet dials it after registration. */
function pluginClient(socketPath: string): Client {
  return new api.DevicePluginClient(`unix://${socketPath}`, credentials.createInsecure());
}

function allocateCall(client: Client, request: AllocateRequest): Promise<AllocateResponse> {
  return new Promise((res, rej) => {
    const fn = client["Allocate"] as (
      req: AllocateRequest,
      cb: (err: ServiceError | null, r: AllocateResponse) => void,
    ) => void;
    fn.call(client, request, (err, r) => (err ? rej(err) : res(r)));
  });
}

/** Opens ListAndWatch and keeps every list the plugin sends. */
function watchDevices(client: Client): {
  lists: ListAndWatchResponse[];
  stream: ClientReadableStream<ListAndWatchResponse>;
} {
  const fn = client["ListAndWatch"] as (req: object) => ClientReadableStream<ListAndWatchResponse>;
  const stream = fn.call(client, {});
  const lists: ListAndWatchResponse[] = [];
  stream.on("data", (r: ListAndWatchResponse) => lists.push(r));
  stream.on("error", () => undefined); // cancelled at the end of each test
  return { lists, stream };
}

function healthOf(list: ListAndWatchResponse | undefined): string[] {
  return [...new Set((list?.devices ?? []).map((d) => d.health))];
}

/**
 * Makes a character device node like the host's (same major:minor, and a mode and owner real nodes ship
 * with), so the plugin's stat sees a real one and the launcher's node opens the real device.
 */
function mknod(path: string, major: number, minor: number, mode = "0600", gid = 0): void {
  execFileSync("mknod", ["-m", mode, path, "c", String(major), String(minor)]);
  chownSync(path, 0, gid);
}

describe("vireo-device-plugin against a fake kubelet", () => {
  let dir: string;
  let pluginDir: string;
  let devDir: string;
  let nodeDir: string;
  let kubelet: FakeKubelet;
  let plugin: ChildProcess;
  let healthPort: number;
  const clients: Client[] = [];
  const output: string[] = [];

  const sock = (name: string) => join(pluginDir, `vireo-${name}.sock`);
  const client = (name: string) => {
    const c = pluginClient(sock(name));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vireo-dp-"));
    pluginDir = join(dir, "device-plugins");
    devDir = join(dir, "dev");
    nodeDir = join(dir, "device-nodes");
    await mkdir(pluginDir);
    await mkdir(join(devDir, "net"), { recursive: true });
    // Both shapes real nodes ship with: hardened (0600 root:root) and Debian's kvm group (0660 root:kvm).
    mknod(join(devDir, "kvm"), 10, 232, "0600", 0);
    mknod(join(devDir, "net/tun"), 10, 200, "0660", kvmGid());
    mknod(join(devDir, "vhost-net"), 10, 238, "0600", 0);
    kubelet = new FakeKubelet(join(pluginDir, "kubelet.sock"));
    await kubelet.start();
    healthPort = await freePort();
    plugin = spawn(
      process.execPath,
      [
        join(repoRoot, "bin/vireo-device-plugin.js"),
        `--device-plugin-dir=${pluginDir}`,
        `--dev-dir=${devDir}`,
        `--node-dir=${nodeDir}`,
        "--poll-interval-ms=100",
        `--health-port=${healthPort}`,
        "--log-level=debug",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    plugin.stdout?.on("data", (b: Buffer) => output.push(b.toString()));
    plugin.stderr?.on("data", (b: Buffer) => output.push(b.toString()));
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    if (plugin?.pid !== undefined && plugin.exitCode === null) {
      const exited = new Promise((res) => plugin.once("exit", res));
      process.kill(plugin.pid, "SIGTERM");
      await exited;
    }
    await kubelet?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("registers kvm, tun and vhost-net with the kubelet, each on its own socket", async () => {
    await eventually(async () => expect(kubelet.registrations).toHaveLength(3), {
      timeoutMs: 60_000,
      description: `3 registrations (plugin output: ${output.join("")})`,
    });
    expect(kubelet.registrations.map((r) => [r.version, r.resource_name, r.endpoint])).toEqual([
      ["v1beta1", "devices.vireo.dev/kvm", "vireo-kvm.sock"],
      ["v1beta1", "devices.vireo.dev/tun", "vireo-tun.sock"],
      ["v1beta1", "devices.vireo.dev/vhost-net", "vireo-vhost-net.sock"],
    ]);
    expect(kubelet.registrations[0]?.options).toEqual({
      pre_start_required: false,
      get_preferred_allocation_available: false,
    });
    for (const name of ["kvm", "tun", "vhost-net"]) expect(existsSync(sock(name))).toBe(true);
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("lists 110 healthy slots per resource", async () => {
    for (const name of ["kvm", "tun", "vhost-net"]) {
      const { lists, stream } = watchDevices(client(name));
      await eventually(async () => expect(lists.length).toBeGreaterThan(0));
      const devices = lists[0]?.devices ?? [];
      expect(devices).toHaveLength(110);
      expect(new Set(devices.map((d) => d.ID)).size).toBe(110);
      expect(devices[0]?.ID).toBe(`${name}-0`);
      expect(healthOf(lists[0])).toEqual(["Healthy"]);
      stream.cancel();
    }
  });

  it("makes the launcher's nodes root:107 0660 with the host's numbers, in a directory only root enters", async () => {
    for (const [name, host] of [
      ["kvm", "kvm"],
      ["net/tun", "net/tun"],
      ["vhost-net", "vhost-net"],
    ] as const) {
      const [node, source] = await Promise.all([
        stat(join(nodeDir, name), { bigint: true }),
        stat(join(devDir, host), { bigint: true }),
      ]);
      expect(node.isCharacterDevice()).toBe(true);
      expect(node.rdev).toBe(source.rdev);
      expect([Number(node.uid), Number(node.gid), Number(node.mode & 0o7777n)]).toEqual([0, 107, 0o660]);
    }
    for (const d of [nodeDir, join(nodeDir, "net")]) expect((await stat(d)).mode & 0o7777).toBe(0o700);
  });

  it.each([
    ["kvm", "/dev/kvm", "0600 root:root"],
    ["net/tun", "/dev/net/tun", "0660 root:kvm"],
  ])("lets uid 107 open the launcher's %s where the runtime puts it (host node %s)", async (name, at) => {
    const open = (node: string) =>
      execFileSync(
        "unshare",
        [
          ...["--mount", "--propagation", "private", "--", "sh", "-c"],
          `mount --bind "$1" "$2" && exec setpriv --reuid=107 --regid=107 --clear-groups sh -c 'exec 3<>"$2"' sh "$@"`,
          ...["sh", node, at],
        ],
        { stdio: "pipe" },
      );
    expect(() => open(join(devDir, name))).toThrow(/Permission denied/);
    expect(() => open(join(nodeDir, name))).not.toThrow();
  });

  it("Allocate hands each container the launcher's node, read-write", async () => {
    const res = await allocateCall(client("kvm"), {
      container_requests: [{ devices_ids: ["kvm-0", "kvm-5"] }, { devices_ids: ["kvm-7"] }],
    });
    const kvm = { container_path: "/dev/kvm", host_path: join(nodeDir, "kvm"), permissions: "rw" };
    expect(res.container_responses.map((c) => c.devices)).toEqual([[kvm], [kvm]]);
    const tun = await allocateCall(client("tun"), { container_requests: [{ devices_ids: ["tun-3"] }] });
    expect(tun.container_responses[0]?.devices).toEqual([
      { container_path: "/dev/net/tun", host_path: join(nodeDir, "net/tun"), permissions: "rw" },
    ]);
    const vhost = await allocateCall(client("vhost-net"), {
      container_requests: [{ devices_ids: ["vhost-net-109"] }],
    });
    expect(vhost.container_responses[0]?.devices[0]?.container_path).toBe("/dev/vhost-net");
    const wrong = await allocateCall(client("kvm"), {
      container_requests: [{ devices_ids: ["tun-0"] }],
    }).catch((e: ServiceError) => e);
    expect((wrong as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((wrong as ServiceError).details).toContain("unknown device IDs tun-0");
  });

  it("reports Unhealthy when the device node disappears, and Healthy when it is back", async () => {
    const { lists, stream } = watchDevices(client("kvm"));
    await eventually(async () => expect(healthOf(lists.at(-1))).toEqual(["Healthy"]));
    await rm(join(devDir, "kvm"));
    await eventually(async () => expect(healthOf(lists.at(-1))).toEqual(["Unhealthy"]), {
      description: "kvm Unhealthy",
    });
    expect(lists.at(-1)?.devices).toHaveLength(110);
    // The launcher's node goes with it, so a re-created host node is never handed out with old numbers.
    expect(existsSync(join(nodeDir, "kvm"))).toBe(false);
    const refused = await allocateCall(client("kvm"), {
      container_requests: [{ devices_ids: ["kvm-0"] }],
    }).catch((e: ServiceError) => e);
    expect((refused as ServiceError).code).toBe(status.FAILED_PRECONDITION);
    // The other resources are unaffected.
    const tun = watchDevices(client("tun"));
    await eventually(async () => expect(healthOf(tun.lists.at(-1))).toEqual(["Healthy"]));
    mknod(join(devDir, "kvm"), 10, 232);
    await eventually(async () => expect(healthOf(lists.at(-1))).toEqual(["Healthy"]), {
      description: "kvm Healthy again",
    });
    expect((await stat(join(nodeDir, "kvm"))).gid).toBe(107);
    stream.cancel();
    tun.stream.cancel();
  });

  it("re-registers and serves again when the kubelet restarts and wipes the socket directory", async () => {
    const before = kubelet.registrations.length;
    await kubelet.stop();
    for (const name of ["kvm", "tun", "vhost-net"]) await rm(sock(name), { force: true });
    await kubelet.start();
    await eventually(async () => expect(kubelet.registrations.length).toBe(before + 3), {
      description: "re-registration",
    });
    expect(kubelet.registrations.slice(before).map((r) => r.resource_name)).toEqual([
      "devices.vireo.dev/kvm",
      "devices.vireo.dev/tun",
      "devices.vireo.dev/vhost-net",
    ]);
    const { lists, stream } = watchDevices(client("vhost-net"));
    await eventually(async () => expect(lists.at(-1)?.devices).toHaveLength(110));
    stream.cancel();
  });

  it("re-registers when only kubelet.sock is recreated (a new kubelet on the same directory)", async () => {
    const before = kubelet.registrations.length;
    await kubelet.stop();
    await kubelet.start();
    await eventually(async () => expect(kubelet.registrations.length).toBe(before + 3), {
      description: "re-registration",
    });
    const res = await allocateCall(client("tun"), { container_requests: [{ devices_ids: ["tun-0"] }] });
    expect(res.container_responses[0]?.devices[0]?.host_path).toBe(join(nodeDir, "net/tun"));
  });

  it("removes its sockets on SIGTERM", async () => {
    const exited = new Promise<number | null>((res) => plugin.once("exit", (code) => res(code)));
    process.kill(plugin.pid as number, "SIGTERM");
    expect(await exited).toBe(0);
    for (const name of ["kvm", "tun", "vhost-net"]) expect(existsSync(sock(name))).toBe(false);
  });
});
