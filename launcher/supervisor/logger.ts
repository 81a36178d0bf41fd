import { createLogger as createComponentLogger, type Logger } from "../../lib/log.ts";

/** The launcher's logger (lib/log.ts), tagged with the VM. */
export function createLogger(vm?: { namespace: string; name: string }, level?: string): Logger {
  return createComponentLogger("vireo-launcher", {
    level,
    base: vm ? { vm: `${vm.namespace}/${vm.name}` } : {},
  });
}

export type { Logger };
