/**
 * Every shipped Windows preference's argv is accepted by the real QEMU (7.2, TCG here: /dev/kvm is a shim):
 * a VM sized by u1.2xmedium with the preference is expanded, turned into a launcher config by the operator's
 * own mapping, rendered into argv over the AHCI-disk golden shape, started paused, and inspected over QMP —
 * the Hyper-V flags on the vCPU, no HPET, SATA disks and CD-ROM on the ICH9 AHCI controller, e1000e.
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commonProfiles } from "../../crds/api/instancetype-objects.ts";
import { COMMON_PREFERENCES } from "../../crds/api/preference-common.ts";
import { launcherConfigOf } from "../../crds/launcher/from-vm.ts";
import { resolveVm } from "../../crds/launcher/resolve.ts";
import { expandOffline } from "../../cli/expand/offline.ts";
import { buildQemuArgs } from "../../launcher/qemu/args.ts";
import { QmpClient } from "../../launcher/qemu/qmp-client.ts";
import { spawnQemu } from "../../launcher/qemu/process.ts";
import { shapes } from "../golden/qemu/shapes.ts";

const root = mkdtempSync(join(tmpdir(), "vireo-windows-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const windows = COMMON_PREFERENCES.filter((p) => p.name.startsWith("windows"));
/** What QEMU 7.2 takes under TCG (hyperv.ts leaves the others out). */
const TCG_HV = ["hv-relaxed", "hv-vapic", "hv-runtime", "hv-reset", "hv-frequencies", "hv-reenlightenment"];

describe("Windows preferences start in real QEMU", () => {
  it("has the three Windows preferences", () =>
    expect(windows.map((p) => p.name)).toEqual(["windows.10", "windows.11", "windows.2k22"]));

  for (const pref of windows)
    it(`${pref.name}: Hyper-V flags, clock, AHCI, e1000e, Secure Boot OVMF`, async () => {
      const vm = expandOffline(
        {
          apiVersion: "vireo.dev/v1alpha1",
          kind: "VirtualMachine",
          metadata: { name: "win", namespace: "default", uid: "u" },
          spec: {
            instancetype: { name: "u1.2xmedium" },
            preference: { name: pref.name },
            disks: [{ name: "root" }],
            volumes: [{ name: "root", emptyDisk: { capacity: "16Mi" } }],
          },
        },
        commonProfiles(),
      );
      if (!vm.ok) throw new Error(JSON.stringify(vm.problems));
      const fromVm = launcherConfigOf(resolveVm(vm.vm, { defaultBinding: "bridge", claims: {} }), {
        allowEmulation: true,
      });
      expect(fromVm.hyperv?.enlightenments).toContain("synic");
      expect(fromVm.clock).toEqual({
        base: "localtime",
        hpet: false,
        pitTickPolicy: "delay",
        rtcCatchup: true,
      });
      expect(fromVm.boot).toMatchObject({ kind: "uefi", secureBoot: true });
      expect(fromVm.disks[0]).toMatchObject({ bus: "sata" });
      expect(fromVm.interfaces[0]).toMatchObject({ model: "e1000e" });

      // The platform of the VM, over the golden shape with AHCI disks and a CD-ROM, booting Secure Boot OVMF.
      const dir = join(root, pref.name);
      const all = shapes({ root: dir, blockDevice: "/dev/null", kernel: "/none", initrd: "/none" });
      const sata = all.find((s) => s.name === "scsi-sata-disks")!;
      const sb = all.find((s) => s.name === "uefi-secureboot")!;
      const config = {
        ...sata.config,
        cpu: fromVm.cpu,
        boot: sb.config.boot,
        hyperv: fromVm.hyperv!,
        clock: fromVm.clock!,
      };
      const inputs = {
        ...sata.inputs,
        accel: "tcg" as const,
        firmware: sb.inputs.firmware,
        nics: [],
        files: { ...sata.inputs.files },
      };
      for (const p of Object.values(config.paths)) mkdirSync(p, { recursive: true });
      for (const d of inputs.disks)
        if (d.driver === "file") {
          mkdirSync(dirname(d.path), { recursive: true });
          writeFileSync(d.path, "");
          truncateSync(d.path, 16 * 2 ** 20);
        }
      mkdirSync(dirname(inputs.files.uefiVars), { recursive: true });
      copyFileSync(inputs.firmware.ovmfVarsTemplate, inputs.files.uefiVars);
      const argv = buildQemuArgs(config, inputs);
      expect(argv.join(" ")).toMatch(/-rtc base=localtime,driftfix=slew -machine hpet=off/);
      const qemu = await spawnQemu(argv);
      const failed = () => `QEMU stderr:\n${qemu.stderrTail().join("\n")}\nargv: ${argv.join(" ")}`;
      let qmp: QmpClient;
      try {
        qmp = await QmpClient.connect(inputs.files.qmpSocket, { connectTimeoutMs: 30_000 });
      } catch (err) {
        qemu.kill("SIGKILL");
        throw new Error(failed(), { cause: err });
      }
      try {
        expect(await qmp.execute("query-status")).toMatchObject({ status: "prelaunch" });
        const [cpu] = await qmp.execute<{ "qom-path": string }[]>("query-cpus-fast");
        for (const flag of TCG_HV)
          expect(await qmp.execute("qom-get", { path: cpu!["qom-path"], property: flag }), flag).toBe(true);
        expect(await qmp.execute("qom-get", { path: cpu!["qom-path"], property: "hv-spinlocks" })).toBe(8191);
        expect(await qmp.execute("qom-get", { path: "/machine", property: "hpet" })).toBe(false);
        const pci = await qmp.execute<{ devices: { class_info: { desc?: string } }[] }[]>("query-pci");
        expect(pci[0]!.devices.map((d) => d.class_info.desc)).toContain("SATA controller");
        const block = await qmp.execute<{ qdev?: string; removable: boolean }[]>("query-block");
        expect(block.some((b) => b.removable && (b.qdev ?? "").includes("disk-"))).toBe(true); // the CD-ROM
        await qmp.execute("quit");
      } finally {
        qmp.close();
      }
      expect(await qemu.exited, failed()).toEqual({ code: 0, signal: null });
    });
});
