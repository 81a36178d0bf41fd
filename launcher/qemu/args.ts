import type { LauncherConfig } from "../../crds/launcher/config.ts";
import { balloonArgs } from "./devices/balloon.ts";
import { clockArgs } from "./devices/clock.ts";
import { baseArgs } from "./devices/base.ts";
import { cpuArgs } from "./devices/cpu.ts";
import { diskArgs } from "./devices/disk.ts";
import { firmwareArgs } from "./devices/firmware.ts";
import { guestAgentArgs } from "./devices/guest-agent.ts";
import { machineArgs } from "./devices/machine.ts";
import { memoryArgs } from "./devices/memory.ts";
import { nicArgs } from "./devices/nic.ts";
import { panicArgs } from "./devices/panic.ts";
import { qmpArgs } from "./devices/qmp.ts";
import { rngArgs } from "./devices/rng.ts";
import { serialArgs } from "./devices/serial.ts";
import { tpmArgs } from "./devices/tpm.ts";
import { vncArgs } from "./devices/vnc.ts";
import { watchdogArgs } from "./devices/watchdog.ts";
import type { DeviceArgs, QemuInputs } from "./inputs.ts";

/** Device modules in command-line order. */
const DEVICES: readonly DeviceArgs[] = [
  baseArgs,
  machineArgs,
  cpuArgs,
  clockArgs,
  memoryArgs,
  firmwareArgs,
  qmpArgs,
  serialArgs,
  panicArgs,
  watchdogArgs,
  diskArgs,
  nicArgs,
  rngArgs,
  balloonArgs,
  tpmArgs,
  guestAgentArgs,
  vncArgs,
];

/**
 * The QEMU argv (without the binary) for a validated config and the devices preparation resolved. Pure;
 * throws QemuArgsError for combinations QEMU cannot express, before anything starts.
 */
export function buildQemuArgs(config: LauncherConfig, inputs: QemuInputs): string[] {
  return DEVICES.flatMap((device) => device({ config, inputs }));
}
