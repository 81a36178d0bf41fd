/**
 * Boots the test guest for the network integration tests the way the launcher does: argv from the
 * launcher core's `buildQemuArgs` with the `PreparedNic`s networking returned, QEMU run inside the pod
 * namespace as the unprivileged launcher user, serial console and QMP on the run directory's sockets.
 */
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import type { LauncherConfig } from "../../../crds/launcher/config.ts";
import { guestArtifacts } from "../../../test/guest/artifacts.ts";
import { SerialConsole } from "../../../test/guest/serial-console.ts";
import type { PreparedNic } from "../../prepared.ts";
import { buildQemuArgs } from "../../qemu/args.ts";
import { firmwareFiles } from "../../qemu/firmware-files.ts";
import { runtimeFiles } from "../../qemu/runtime-files.ts";
import { QmpClient } from "../../qemu/qmp-client.ts";
import { asUnprivileged, startProcess, type TestProcess } from "./process.ts";
import type { Topology } from "./topology.ts";

/** A running test guest. */
export interface NetGuest {
  qemu: TestProcess;
  serial: SerialConsole;
  qmp: QmpClient;
  argv: string[];
  /** Closes the connections and kills QEMU by pid. */
  stop(): Promise<void>;
}

/**
 * Starts QEMU for `config` with `nics` and the kernel parameters `append` (e.g. vireo.dhcp=1), and
 * lets it run once the console is connected (the argv starts QEMU paused, as the launcher does).
 */
export async function bootGuest(
  topo: Topology,
  config: LauncherConfig,
  nics: PreparedNic[],
  append: string[],
): Promise<NetGuest> {
  const g = guestArtifacts();
  // The launcher's user cannot read the cache under root's home; the scratch dir is world-readable.
  const kernelPath = join(topo.dir, "vmlinuz");
  const initrdPath = join(topo.dir, "initramfs.cpio.gz");
  await copyFile(g.kernel, kernelPath);
  await copyFile(g.initramfs, initrdPath);
  const booted: LauncherConfig = {
    ...config,
    boot: {
      kind: "kernel",
      kernelPath,
      initrdPath,
      cmdline: ["console=ttyS0", "panic=-1", ...append].join(" "),
    },
  };
  const files = runtimeFiles(booted.paths);
  const argv = buildQemuArgs(booted, {
    accel: "tcg",
    hostCpuQuirks: [],
    disks: [],
    nics,
    files,
    firmware: firmwareFiles(false),
  });
  const qemu = topo.track(
    startProcess([...asUnprivileged(topo.pod, topo.devices), "qemu-system-x86_64", ...argv]),
  );
  let serial: SerialConsole | undefined;
  let qmp: QmpClient | undefined;
  const stop = async () => {
    serial?.close();
    qmp?.close();
    await qemu.kill();
  };
  try {
    serial = await SerialConsole.connect(files.serialSocket, {
      connectTimeoutMs: 30_000,
      logFile: join(topo.dir, "console.log"),
    });
    qmp = await QmpClient.connect(files.qmpSocket, { connectTimeoutMs: 30_000 });
    await qmp.execute("cont");
  } catch (cause) {
    await stop();
    throw new Error(`QEMU did not come up: ${qemu.output()}\nargv: ${argv.join(" ")}`, { cause });
  }
  return { qemu, serial, qmp, argv, stop };
}

/** Uid and effective/permitted capability masks of a process, from /proc. */
export async function processPrivileges(
  pid: number,
): Promise<{ uid: number; capEff: bigint; capPrm: bigint }> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, "m").exec(status)?.[1] ?? "";
  return {
    uid: Number(field("Uid")),
    capEff: BigInt(`0x${field("CapEff")}`),
    capPrm: BigInt(`0x${field("CapPrm")}`),
  };
}
