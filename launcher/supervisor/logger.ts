import { pino, type Logger } from "pino";

/** The launcher's logger: pino JSON lines on stdout, tagged with the VM. */
export function createLogger(
  vm?: { namespace: string; name: string },
  level = process.env.VIREO_LOG_LEVEL ?? "info",
): Logger {
  return pino({ name: "vireo-launcher", level, base: vm ? { vm: `${vm.namespace}/${vm.name}` } : {} });
}

export type { Logger };
