/**
 * The BSD preferences' argv is accepted by the real QEMU (7.2, TCG): a VM sized by u1.micro with the
 * freebsd or openbsd preference is expanded, turned into a launcher config by the operator's own mapping, its
 * disk prepared by the launcher's real storage step, rendered into argv, started paused and inspected over
 * QMP (virtio-blk on PCI, the preference's disk bus). No BSD guest is booted: this machine has no BSD image
 * and cannot fetch one (docs/instancetypes.md says so).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commonProfiles } from "../../crds/api/instancetype-objects.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { launcherConfigOf } from "../../crds/launcher/from-vm.ts";
import { resolveVm } from "../../crds/launcher/resolve.ts";
import { expandOffline } from "../../cli/expand/offline.ts";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { firmwareFiles } from "../../launcher/qemu/firmware-files.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { spawnQemu } from "../../launcher/qemu/process.ts";
import { runtimeFiles } from "../../launcher/qemu/runtime-files.ts";
import { nodeStorageDeps, prepareDisks } from "../../launcher/storage/index.ts";

const root = mkdtempSync(join(tmpdir(), "vireo-bsd-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = { info: () => {}, warn: () => {} };

describe("BSD preferences start in real QEMU", () => {
  for (const pref of ["freebsd", "openbsd"])
    it(`${pref}: virtio-blk disk, the expanded size, QEMU paused and answering`, async () => {
      const vm = expandOffline(
        {
          apiVersion: "vireo.dev/v1alpha1",
          kind: "VirtualMachine",
          metadata: { name: pref, namespace: "default", uid: "u" },
          spec: {
            instancetype: { name: "u1.micro" },
            preference: { name: pref },
            disks: [{ name: "root" }],
            volumes: [{ name: "root", emptyDisk: { capacity: "16Mi" } }],
            interfaces: [],
            networks: [],
          },
        },
        commonProfiles(),
      );
      if (!vm.ok) throw new Error(JSON.stringify(vm.problems));
      const paths = podPaths(join(root, pref));
      const config = launcherConfigOf(resolveVm(vm.vm, { defaultBinding: "bridge", claims: {} }), {
        allowEmulation: true,
        paths,
      });
      expect(config.disks[0]).toMatchObject({ bus: "virtio" });
      for (const p of Object.values(paths)) mkdirSync(p, { recursive: true });
      const disks = await prepareDisks(config, nodeStorageDeps(quiet));
      const files = runtimeFiles(paths);
      const argv = buildQemuArgs(config, {
        accel: "tcg",
        hostCpuQuirks: [],
        disks,
        nics: [],
        files,
        firmware: firmwareFiles(false),
      });
      const qemu = await spawnQemu(argv);
      const failed = () => `QEMU stderr:\n${qemu.stderrTail().join("\n")}\nargv: ${argv.join(" ")}`;
      let qmp: QmpClient;
      try {
        qmp = await QmpClient.connect(files.qmpSocket, { connectTimeoutMs: 30_000 });
      } catch (err) {
        qemu.kill("SIGKILL");
        throw new Error(failed(), { cause: err });
      }
      try {
        expect(await qmp.execute("query-status")).toMatchObject({ status: "prelaunch" });
        const block = await qmp.execute<{ qdev?: string; inserted?: { file: string } }[]>("query-block");
        const rootDisk = block.find((b) => (b.qdev ?? "").includes("disk-root"));
        expect(rootDisk?.inserted?.file, JSON.stringify(block)).toContain(paths.stateDir);
        const pci =
          await qmp.execute<{ devices: { id?: { device: number }; qdev_id: string }[] }[]>("query-pci");
        expect(pci[0]!.devices.map((d) => d.qdev_id)).toContain("disk-root"); // virtio-blk-pci
        const mem = await qmp.execute<{ "base-memory": number }>("query-memory-size-summary");
        expect(mem["base-memory"]).toBe(2 ** 30); // u1.micro
        await qmp.execute("quit");
      } finally {
        qmp.close();
      }
      expect(await qemu.exited, failed()).toEqual({ code: 0, signal: null });
    });
});
