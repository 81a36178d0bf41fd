/**
 * What the cluster commands read of a VirtualMachine, validated at the edge. Lenient on purpose (loose
 * objects, optional fields): a CLI of one version must still read VMs written by an operator of another.
 */
import { z } from "zod";

const condition = z
  .object({
    type: z.string(),
    status: z.string(),
    reason: z.string().optional(),
    message: z.string().optional(),
    lastTransitionTime: z.string().optional(),
  })
  .loose();

/** The parts of a VirtualMachine the CLI uses. */
export const vmViewSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        resourceVersion: z.string().optional(),
        generation: z.number().optional(),
        creationTimestamp: z.union([z.string(), z.date()]).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .loose(),
    spec: z
      .object({
        runStrategy: z.string().optional(),
        devices: z
          .object({ vnc: z.boolean().optional(), serialConsole: z.boolean().optional() })
          .loose()
          .optional(),
      })
      .loose()
      .optional(),
    status: z
      .object({
        phase: z.string().optional(),
        printableStatus: z.string().optional(),
        ready: z.boolean().optional(),
        conditions: z.array(condition).optional(),
        observedGeneration: z.number().optional(),
        nodeName: z.string().optional(),
        launcherPod: z.string().optional(),
        ipAddress: z.string().optional(),
        restartCount: z.number().optional(),
        interfaces: z
          .array(
            z
              .object({ name: z.string(), mac: z.string().optional(), ips: z.array(z.string()).optional() })
              .loose(),
          )
          .optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

/** A VirtualMachine as the CLI sees it. */
export type VmView = z.infer<typeof vmViewSchema>;

/** The VM's runStrategy, with the API's default. */
export function runStrategyOf(vm: VmView): string {
  return vm.spec?.runStrategy ?? "Always";
}

/** What to call the VM's state in messages: printableStatus, else phase, else Stopped/Unknown. */
export function stateOf(vm: VmView): string {
  return (
    vm.status?.printableStatus ?? vm.status?.phase ?? (runStrategyOf(vm) === "Halted" ? "Stopped" : "Unknown")
  );
}
