/**
 * Every golden QEMU shape is accepted by the real QEMU: started paused, inspected over QMP, quit. Runs in a
 * network namespace of its own so the taps QEMU opens never appear on the host.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { spawnQemu, type QemuProcess } from "../../launcher/qemu/process.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { shapes, type Shape } from "../golden/qemu/shapes.ts";

const root = mkdtempSync(join(tmpdir(), "vireo-args-"));
const netns = `vireo-args-${process.pid}`;
let loop = "";
const servers: Server[] = [];
const running = new Set<QemuProcess>();
const kvm = existsSync("/dev/kvm");
const vhost = existsSync("/dev/vhost-net");

function touch(path: string, bytes = 16 * 2 ** 20): void {
  mkdirSync(dirname(path), { recursive: true });
  if (path.endsWith(".qcow2")) execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path, String(bytes)]);
  else execFileSync("truncate", ["-s", String(bytes), path]);
}

/** Creates every file, directory and socket a shape refers to, as preparation would in a pod. */
async function provide(shape: Shape): Promise<Shape> {
  const { config, inputs } = shape;
  for (const p of Object.values(config.paths)) mkdirSync(p, { recursive: true });
  for (const d of inputs.disks) if (d.driver === "file") touch(d.path);
  if (config.boot.kind === "uefi") copyFileSync(inputs.firmware.ovmfVarsTemplate, inputs.files.uefiVars);
  if (config.boot.kind === "kernel") {
    const { kernel, initramfs } = guestArtifacts();
    mkdirSync(dirname(config.boot.kernelPath), { recursive: true });
    copyFileSync(kernel, config.boot.kernelPath);
    if (config.boot.initrdPath) copyFileSync(initramfs, config.boot.initrdPath);
  }
  // A plain directory stands in for the hugetlbfs mount: the same argv, without reserving hugepages.
  if (config.memory.hugepages) mkdirSync(config.memory.hugepages.mountPath, { recursive: true });
  const nics = inputs.nics.map((n) => {
    if (n.backend.kind === "passt") {
      const path = n.backend.socketPath;
      mkdirSync(dirname(path), { recursive: true });
      const server = createServer((s) => s.on("error", () => {}));
      servers.push(server);
      server.listen(path);
    }
    // This host has no /dev/vhost-net; the option itself is pinned by the golden file.
    return n.backend.kind === "tap" && !vhost ? { ...n, backend: { ...n.backend, vhost: false } } : n;
  });
  await new Promise((r) => setTimeout(r, 50));
  return { ...shape, inputs: { ...inputs, nics } };
}

beforeAll(() => {
  execFileSync("ip", ["netns", "add", netns]);
  loop = execFileSync(
    "losetup",
    ["-f", "--show", (touch(join(root, "block.img")), join(root, "block.img"))],
    {
      encoding: "utf8",
    },
  ).trim();
});

afterAll(async () => {
  for (const q of running) q.kill("SIGKILL");
  await Promise.all([...running].map((q) => q.exited));
  for (const s of servers) s.close();
  if (loop) execFileSync("losetup", ["-d", loop]);
  execFileSync("ip", ["netns", "del", netns]);
  rmSync(root, { recursive: true, force: true });
});

describe("golden QEMU argv shapes start in real QEMU", () => {
  const { kernel, initramfs } = guestArtifacts();
  const all = shapes({ root: "/placeholder", blockDevice: "/dev/null", kernel, initrd: initramfs });
  for (const { name, about } of all) {
    const needsKvm = all.find((s) => s.name === name)!.inputs.accel === "kvm";
    it.skipIf(needsKvm && !kvm)(`${name}: ${about}`, async () => {
      const dir = join(root, name);
      const shape = await provide(
        shapes({
          root: dir,
          blockDevice: loop,
          kernel: join(dir, "boot/kernel"),
          initrd: join(dir, "boot/initrd"),
        }).find((s) => s.name === name)!,
      );
      const argv = buildQemuArgs(shape.config, shape.inputs);
      const qemu = await spawnQemu(argv, { wrapper: ["ip", "netns", "exec", netns] });
      running.add(qemu);
      const failed = () => `QEMU stderr:\n${qemu.stderrTail().join("\n")}\nargv: ${argv.join(" ")}`;
      let qmp: QmpClient;
      try {
        qmp = await QmpClient.connect(shape.inputs.files.qmpSocket, { connectTimeoutMs: 30_000 });
      } catch (err) {
        throw new Error(failed(), { cause: err });
      }
      try {
        // -S: configured but not running.
        expect(await qmp.execute("query-status")).toMatchObject({ status: "prelaunch", running: false });
        const { sockets, cores, threads } = shape.config.cpu;
        const cpus = await qmp.execute<unknown[]>("query-cpus-fast");
        expect(cpus).toHaveLength(sockets * cores * threads);
        const block = await qmp.execute<{ qdev?: string }[]>("query-block");
        const qdevs = block.map((b) => b.qdev ?? "");
        for (const d of shape.inputs.disks)
          expect(qdevs.some((q) => q.includes(`disk-${d.name}`))).toBe(true);
        const kvmState = await qmp.execute<{ enabled: boolean }>("query-kvm");
        expect(kvmState.enabled).toBe(shape.inputs.accel === "kvm");
        await qmp.execute("quit");
      } finally {
        qmp.close();
      }
      const exit = await qemu.exited;
      running.delete(qemu);
      expect(exit, failed()).toEqual({ code: 0, signal: null });
    });
  }
});
