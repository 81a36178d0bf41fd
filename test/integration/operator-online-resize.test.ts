// Online resize, the operator's path, on a real kube-apiserver: the operator's own caches (informers on VMs,
// launcher pods and PVCs), its EventRecorder and the DiskResizer, with a real launcher binary and a QEMU TCG
// guest on a stand-in claim. There is no kubelet, so the test is the kubelet: it binds the PVC, marks the pod
// Running, and later expands the claim by writing its status.capacity; the resizer's pods/exec is replaced
// by running the same `vireo-launcher resize-disk …` command against the launcher's run directory.
import { execFile, spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { launcherConfigSchema } from "../../crds/launcher/config.ts";
import { LABEL_VM, podPaths } from "../../crds/contract/index.ts";
import { usableImageBytes } from "../../crds/contract/disk-image.ts";
import { createLogger } from "../../lib/log.ts";
import { systemClock } from "../../lib/clock.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { Caches } from "../../operator/kube/caches.ts";
import { EventRecorder } from "../../operator/kube/events.ts";
import { KubeResources } from "../../operator/kube/resources.ts";
import { diskResizerOver, type LauncherExec } from "../../operator/datavolume/resizer.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { testDisk } from "../../launcher/storage/testing.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { SerialConsole } from "../guest/serial-console.ts";
import { createTestNamespace, eventually, type TestNamespace } from "../harness/index.ts";
import { freePort } from "../harness/ports.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, installCrd } from "./operator-kit.ts";
import { BOOT_MS, COMMAND_MS, HostFixtures } from "./storage-vm.ts";

const BIN = fileURLToPath(new URL("../../bin/vireo-launcher.js", import.meta.url));
const MiB = 2 ** 20;
const cp = useControlPlane();
const fx = new HostFixtures();
let cluster: Cluster;
let ns: TestNamespace;

beforeAll(async () => {
  guestArtifacts();
  await installCrd(cp());
  cluster = new Cluster(cp().kubeConfig);
  ns = await createTestNamespace(cp().kubeConfig, "vireo-resize");
});
afterAll(async () => {
  await fx.release();
  await cluster?.cleanNamespace(ns.name);
  await ns?.delete();
});

describe("online disk resize through the operator's resizer", () => {
  it("an expanded claim grows the running guest's disk, with a DiskResized Event; a shrink is a Warning", async () => {
    const log = createLogger("vireo-operator", { level: "warn" });
    const client = await KubeClient.connect(cp().kubeConfig, 8);
    const caches = new Caches(client, [ns.name], systemClock, log, { enqueue: () => {} });
    fx.defer("stop caches", () => caches.stop());
    const events = new EventRecorder({
      resources: new KubeResources(client),
      identity: "test",
      clock: systemClock,
      log,
      onDropped: () => {},
    });

    // The launcher and its guest, on a 256 MiB ext4 volume standing in for the claim (128 Mi at first).
    const root = fx.tempDir("vireo-op-resize-");
    const mount = join(podPaths(root).volumesDir, "data");
    fx.mountExt4(join(root, "pvc.ext4"), 256, mount);
    const { kernel, initramfs } = guestArtifacts();
    const config = launcherConfigSchema.parse({
      version: "v1",
      vm: { namespace: ns.name, name: "grow", uid: "8b1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b" },
      accelerator: { allowEmulation: true },
      machine: "q35",
      cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
      memory: { guestBytes: 256 * MiB },
      boot: { kind: "kernel", kernelPath: kernel, initrdPath: initramfs, cmdline: "console=ttyS0" },
      disks: [
        testDisk("data", {
          kind: "pvcFilesystem",
          mountPath: mount,
          claimName: "data-pvc",
          capacityBytes: 128 * MiB,
        }),
      ],
      interfaces: [],
      devices: {
        serialConsole: true,
        vnc: false,
        rng: false,
        balloon: { enabled: false, statsPollSeconds: 5 },
      },
      terminationGracePeriodSeconds: 30,
      paths: podPaths(root),
      http: { port: await freePort() },
    });
    writeFileSync(join(root, "config.json"), JSON.stringify(config));
    const child = spawn(
      process.execPath,
      [BIN, "--config", join(root, "config.json"), "--termination-log", join(root, "term")],
      {
        env: { ...process.env, VIREO_ACCEL: "tcg" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    fx.defer(`kill launcher ${child.pid}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    });
    onTestFailed(() => console.error(`--- launcher output ---\n${out.slice(-6000)}`));

    // The API objects: the VM, its claim (bound, 128Mi) and its launcher pod (Running).
    const vm = await cluster.createVm(ns.name, "grow", {
      runStrategy: "Always",
      disks: [{ name: "data", disk: { bus: "virtio" } }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-pvc" } }],
    });
    await cluster.core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: {
        metadata: { name: "data-pvc" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "128Mi" } } },
      },
    });
    await cluster.bindPvc(ns.name, "data-pvc", "128Mi");
    await cluster.core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: {
          name: "virt-launcher-grow",
          labels: { [LABEL_VM]: "grow" },
          ownerReferences: [
            {
              apiVersion: "vireo.dev/v1alpha1",
              kind: "VirtualMachine",
              name: "grow",
              uid: vm.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: { containers: [{ name: "launcher", image: "localhost/vireo-launcher:test" }] },
      },
    });
    await cluster.podRunning(ns.name, "virt-launcher-grow");

    const execs: string[][] = [];
    const exec: LauncherExec = async (_pod, args) => {
      execs.push(args);
      const run = promisify(execFile)(process.execPath, [BIN, ...args, "--run-dir", config.paths.runDir]);
      return run.then(
        (r) => r.stdout,
        (err: { stdout?: string }) => err.stdout ?? "",
      );
    };
    const resizer = diskResizerOver(caches, { events, log, exec });
    await caches.start();

    const con = await SerialConsole.connect(runtimeFiles(config.paths).consoleSocket, {
      connectTimeoutMs: 60_000,
    });
    fx.defer("close console", () => con.close());
    await con.waitForReady(BOOT_MS);
    await con.waitForShell(BOOT_MS);
    const guestSectors = async () => Number((await con.check("cat /sys/block/vda/size", COMMAND_MS)).trim());
    expect(await guestSectors()).toBe(usableImageBytes(128 * MiB) / 512);

    // A new pod is asked once; its disk is what the claim holds: unchanged, no Event, not asked again.
    await resizer.tick();
    await resizer.tick();
    expect(execs).toEqual([["resize-disk", "data", String(128 * MiB)]]);

    // The kubelet finished expanding the claim to 192Mi.
    const expand = async (storage: string) => {
      await cluster.core.patchNamespacedPersistentVolumeClaimStatus(
        { namespace: ns.name, name: "data-pvc", body: { status: { capacity: { storage } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await eventually(
        async () => expect(caches.pvc(ns.name, "data-pvc")?.status?.capacity?.storage).toBe(storage),
        { timeoutMs: 30_000, description: `the cache sees ${storage}` },
      );
    };
    await expand("192Mi");
    await resizer.tick();
    expect(execs.at(-1)).toEqual(["resize-disk", "data", String(192 * MiB)]);
    expect(statSync(join(mount, "disk.img")).size).toBe(usableImageBytes(192 * MiB));
    await eventually(async () => expect(await guestSectors()).toBe(usableImageBytes(192 * MiB) / 512), {
      timeoutMs: COMMAND_MS,
      description: "the guest sees the grown disk",
    });
    await eventually(
      async () => {
        const evs = await cluster.events(ns.name, "grow");
        expect(evs.map((e) => `${e.type} ${e.reason}`)).toContain("Normal DiskResized");
      },
      { timeoutMs: 30_000, description: "a DiskResized Event on the VM" },
    );

    // A claim reported smaller (a broken driver, a restore): refused once, a Warning, the disk untouched.
    await expand("64Mi");
    await resizer.tick();
    await resizer.tick();
    expect(execs.filter((a) => a[2] === String(64 * MiB))).toHaveLength(1);
    await eventually(
      async () => {
        const evs = await cluster.events(ns.name, "grow");
        const w = evs.find((e) => e.reason === "DiskShrinkRefused");
        expect(w?.type).toBe("Warning");
        expect(w?.message).toMatch(/never shrunk/);
      },
      { timeoutMs: 30_000, description: "a DiskShrinkRefused Warning on the VM" },
    );
    expect(statSync(join(mount, "disk.img")).size).toBe(usableImageBytes(192 * MiB));
    expect(await guestSectors()).toBe(usableImageBytes(192 * MiB) / 512);
    await events.flush(10_000);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
