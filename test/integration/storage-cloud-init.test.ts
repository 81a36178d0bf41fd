import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { LauncherConfig, LauncherInterface } from "../../crds/launcher/config.ts";
import { nodeStorageDeps, prepareDisks } from "../../launcher/storage/index.ts";
import { testConfig, testDisk } from "../../launcher/storage/testing.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { bootWithDisks, HostFixtures, type StorageVm } from "./storage-vm.ts";

// The guest mounts the NoCloud ISO (and ConfigMap/Secret ISOs) and finds exactly the bytes we meant.

const deps = nodeStorageDeps(pino({ level: "warn" }));
const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const nic = (name: string, mac: string): LauncherInterface => ({
  name,
  binding: "bridge",
  mac,
  model: "virtio",
  ports: [],
  network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
});

/** What Kubernetes' atomic writer leaves in a ConfigMap/Secret mount: keys linked through `..data`. */
function atomicWriterVolume(dir: string, files: Record<string, string>): void {
  const stamp = "..2025_01_01_00_00_00.000000001";
  mkdirSync(join(dir, stamp), { recursive: true });
  for (const [key, value] of Object.entries(files)) {
    writeFileSync(join(dir, stamp, key), value);
    symlinkSync(`..data/${key}`, join(dir, key));
  }
  symlinkSync(stamp, join(dir, "..data"));
}

describe("storage: cloud-init NoCloud and config volumes as guest disks", () => {
  const fx = new HostFixtures();

  beforeAll(() => {
    guestArtifacts();
  });

  afterEach(async () => {
    await fx.release();
  });

  async function launch(root: string, config: LauncherConfig): Promise<StorageVm> {
    const disks = await prepareDisks(config, deps);
    const vmDir = join(root, "vm");
    mkdirSync(vmDir);
    return bootWithDisks(vmDir, config, disks, (q) => {
      fx.defer(`kill qemu ${q.pid}`, () => q.kill());
      onTestFailed(() => console.error(`--- console ---\n${q.serial.transcript.slice(-5000)}`));
    });
  }

  /** sha256 of every file on the ISO at `dev`, as the guest reads them after mounting it. */
  async function guestFiles(vm: StorageVm, dev: string, at: string): Promise<Record<string, string>> {
    const out = await vm.sh(
      `mkdir -p ${at} && mount -t iso9660 -o ro ${dev} ${at} && cd ${at} && sha256sum $(ls -A)`,
    );
    return Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/))
        .map(([hash, name]) => [name!, hash!]),
    );
  }

  it("serves meta-data, inline user-data and generated network-config, plus ConfigMap and Secret ISOs", async () => {
    const root = fx.tempDir();
    const volumes = join(root, "var/run/vireo/volumes");
    const userData = `#cloud-config\n# ünïcödé and no trailing newline ${randomBytes(4).toString("hex")}\nruncmd: [[touch, /tmp/x]]`;
    atomicWriterVolume(join(volumes, "settings"), { "app.conf": "mode=fast\n", "limits.json": '{"max":3}' });
    atomicWriterVolume(join(volumes, "creds"), { token: "s3cr3t-token" });
    const base: Omit<LauncherConfig, "disks"> = testConfig(root, []);
    const config = testConfig(
      root,
      [
        testDisk(
          "cloudinit",
          { kind: "cloudInit", instanceId: base.vm.uid, hostname: base.vm.name, userData },
          { readOnly: true },
        ),
        testDisk(
          "settings",
          { kind: "configMap", mountPath: join(volumes, "settings"), name: "settings" },
          {
            readOnly: true,
            bus: "scsi",
          },
        ),
        testDisk(
          "creds",
          { kind: "secret", mountPath: join(volumes, "creds"), name: "creds" },
          { readOnly: true },
        ),
      ],
      [nic("default", "52:54:00:aa:bb:01"), nic("storage", "02:11:22:33:44:55")],
    );

    const vm = await launch(root, config);
    expect(vm.report.disks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "vda", serial: "cloudinit", readOnly: true }),
        expect.objectContaining({ name: "vdb", serial: "creds", readOnly: true }),
        expect.objectContaining({ name: "sr0", type: "cdrom", readOnly: true }),
      ]),
    );
    // cloud-init finds its seed by the volume label.
    expect(await vm.sh("findfs LABEL=cidata")).toBe("/dev/vda\n");

    const metaData = `instance-id: "${base.vm.uid}"\nlocal-hostname: "storage-test"\n`;
    const networkConfig = [
      "version: 2",
      "ethernets:",
      "  default:",
      "    match:",
      '      macaddress: "52:54:00:aa:bb:01"',
      "    dhcp4: true",
      "  storage:",
      "    match:",
      '      macaddress: "02:11:22:33:44:55"',
      "    dhcp4: true",
      "",
    ].join("\n");
    expect(await guestFiles(vm, "/dev/vda", "/mnt/ci")).toEqual({
      "meta-data": sha(metaData),
      "user-data": sha(userData),
      "network-config": sha(networkConfig),
    });
    expect(await vm.sh("cat /mnt/ci/meta-data")).toBe(metaData);
    expect(await vm.sh("cat /mnt/ci/network-config")).toBe(networkConfig);

    // ConfigMap on SCSI (a CD-ROM) and Secret on virtio: the keys only, not the atomic writer's links.
    expect(await guestFiles(vm, "/dev/sr0", "/mnt/cfg")).toEqual({
      "app.conf": sha("mode=fast\n"),
      "limits.json": sha('{"max":3}'),
    });
    expect(await guestFiles(vm, "/dev/vdb", "/mnt/creds")).toEqual({ token: sha("s3cr3t-token") });
    // The ISOs are read-only disks.
    const write = await vm.qemu.serial.run("printf x | dd of=/dev/vda conv=notrunc,fsync", 60_000);
    expect(write.exitCode).not.toBe(0);
  });

  it("takes user-data and network-config from mounted Secrets", async () => {
    const root = fx.tempDir();
    const volumes = join(root, "var/run/vireo/volumes");
    const userData = "#!/bin/sh\necho from-secret\n";
    const networkData = "network:\n  version: 1\n  config: []\n";
    // The API documents `userdata`, `userData`, `networkdata` and `networkData`; use one of each spelling.
    atomicWriterVolume(join(volumes, "ci-userdata"), { userData });
    atomicWriterVolume(join(volumes, "ci-networkdata"), { networkdata: networkData });
    const config = testConfig(root, [
      testDisk(
        "ci",
        {
          kind: "cloudInit",
          instanceId: "uid-from-secret-test",
          hostname: "secret-vm",
          userDataDir: join(volumes, "ci-userdata"),
          networkDataDir: join(volumes, "ci-networkdata"),
        },
        { readOnly: true },
      ),
    ]);

    const vm = await launch(root, config);
    expect(await guestFiles(vm, "/dev/vda", "/mnt/ci")).toEqual({
      "meta-data": sha('instance-id: "uid-from-secret-test"\nlocal-hostname: "secret-vm"\n'),
      "user-data": sha(userData),
      "network-config": sha(networkData),
    });
  });
});
