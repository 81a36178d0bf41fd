import { z } from "zod";
import { cel } from "./k8s-meta.ts";
import { parseQuantity } from "./quantity.ts";
import { celOf, celRulesOf, exactlyOneRule, type Rule } from "./rule.ts";

/** Smallest guest memory we accept; below this no supported guest boots. */
export const MIN_GUEST_MEMORY_BYTES = 16 * 2 ** 20;
/** Largest guest memory we accept (16 TiB, QEMU's practical q35 ceiling). */
export const MAX_GUEST_MEMORY_BYTES = 16 * 2 ** 40;

const quantityPattern =
  "^([+]?[0-9]+(\\.[0-9]+)?|[+]?\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m|[eE][+-]?[0-9]+)?$";

/** A Kubernetes quantity string such as `1Gi`. */
export const quantity = () =>
  z
    .string()
    .max(64, "must be at most 64 characters")
    .regex(new RegExp(quantityPattern), "must be a Kubernetes quantity such as 512Mi or 2Gi");

/** A byte quantity within [min, max], reported with the offending value. */
export const byteQuantity = (min: number, max: number, what: string) =>
  quantity().superRefine((s, ctx) => {
    const bytes = parseQuantity(s);
    if (bytes === undefined) return;
    if (!Number.isInteger(bytes))
      ctx.addIssue({ code: "custom", message: `${what} must be a whole number of bytes, got ${s}` });
    else if (bytes < min || bytes > max)
      ctx.addIssue({ code: "custom", message: `${what} must be between ${min} and ${max} bytes, got ${s}` });
  });

const count = (max: number, what: string) =>
  z.int().min(1, `${what} must be at least 1`).max(max, `${what} must be at most ${max}`).default(1);

/** CPU models with a meaning of their own; any other value names a QEMU CPU model (e.g. `Skylake-Server`). */
export const SPECIAL_CPU_MODELS = ["host-passthrough", "host-model"] as const;

/** Most vCPUs a VM may have (sockets × cores × threads). */
export const MAX_VCPUS = 512;

/** The vCPU topology's rules. */
export const CPU_RULES: Rule<{
  sockets: number;
  cores: number;
  threads: number;
  dedicatedCpuPlacement?: boolean | undefined;
  isolateEmulatorThread?: boolean | undefined;
  numa?: object | undefined;
}>[] = [
  {
    id: "isolate-emulator-needs-dedicated",
    cel: [
      {
        rule: "!has(self.isolateEmulatorThread) || !self.isolateEmulatorThread || (has(self.dedicatedCpuPlacement) && self.dedicatedCpuPlacement)",
        message: "isolateEmulatorThread needs dedicatedCpuPlacement",
        fieldPath: ".isolateEmulatorThread",
      },
    ],
    check(cpu, report) {
      if (cpu.isolateEmulatorThread && !cpu.dedicatedCpuPlacement)
        report(["isolateEmulatorThread"], "isolateEmulatorThread needs dedicatedCpuPlacement");
    },
  },
  {
    id: "numa-needs-dedicated",
    cel: [
      {
        rule: "!has(self.numa) || (has(self.dedicatedCpuPlacement) && self.dedicatedCpuPlacement)",
        message: "numa.guestMappingPassthrough needs dedicatedCpuPlacement",
        fieldPath: ".numa",
      },
    ],
    check(cpu, report) {
      if (cpu.numa && !cpu.dedicatedCpuPlacement)
        report(["numa"], "numa.guestMappingPassthrough needs dedicatedCpuPlacement");
    },
  },
  {
    id: "vcpus-at-most-512",
    cel: [
      {
        rule: `self.sockets * self.cores * self.threads <= ${MAX_VCPUS}`,
        message: `total vCPUs (sockets × cores × threads) must be at most ${MAX_VCPUS}`,
      },
    ],
    check(cpu, report) {
      const total = cpu.sockets * cpu.cores * cpu.threads;
      if (total > MAX_VCPUS)
        report([], `total vCPUs (sockets × cores × threads) must be at most ${MAX_VCPUS}, got ${total}`);
    },
  },
];

/** vCPU topology and model. Total vCPUs = sockets × cores × threads. */
export const cpuSchema = z
  .object({
    sockets: count(64, "sockets").describe("Number of CPU sockets."),
    cores: count(256, "cores").describe("Cores per socket."),
    threads: count(8, "threads").describe("Threads per core."),
    model: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
        "must be host-passthrough, host-model or a QEMU CPU model name",
      )
      .default("host-model")
      .describe("host-passthrough, host-model (default) or a named QEMU CPU model such as Skylake-Server."),
    // Optional rather than defaulted: a default would enter every VM's spec hash (see firmware.uefi.persistent).
    dedicatedCpuPlacement: z
      .boolean()
      .optional()
      .describe(
        "Give each vCPU a host CPU of its own: the launcher pod is Guaranteed QoS with whole CPUs (so the " +
          "kubelet's static CPU manager gives it exclusive ones) and the launcher pins each vCPU thread to one.",
      ),
    isolateEmulatorThread: z
      .boolean()
      .optional()
      .describe("With dedicatedCpuPlacement: one more CPU, on which QEMU's other threads run."),
    numa: z
      .object({
        guestMappingPassthrough: z
          .object({})
          .strict()
          .describe("One guest NUMA node per host NUMA node the vCPUs are pinned on."),
      })
      .strict()
      .optional()
      .describe("Guest NUMA topology (needs dedicatedCpuPlacement)."),
  })
  .strict()
  .meta(celOf(CPU_RULES));

/** Guest memory's cross-field rule: hugepages back it in whole pages. */
export const MEMORY_RULES: Rule<{ guest: string; hugepages?: { pageSize: string } | undefined }>[] = [
  {
    id: "memory-whole-hugepages",
    cel: [
      {
        rule:
          "!has(self.hugepages) || !quantity(self.guest).isInteger() || " +
          "quantity(self.guest).asInteger() % quantity(self.hugepages.pageSize).asInteger() == 0",
        message: "guest memory must be a multiple of the hugepage size",
        messageExpression:
          "'guest memory ' + self.guest + ' must be a multiple of the hugepage size ' + self.hugepages.pageSize",
        fieldPath: ".guest",
      },
    ],
    check(memory, report) {
      const hp = memory.hugepages;
      const guest = parseQuantity(memory.guest);
      if (!hp || guest === undefined) return;
      if (guest % parseQuantity(hp.pageSize)! !== 0)
        report(
          ["guest"],
          `guest memory ${memory.guest} must be a multiple of the hugepage size ${hp.pageSize}`,
        );
    },
  },
];

/** Guest memory, optionally backed by hugepages. */
export const memorySchema = z
  .object({
    guest: byteQuantity(MIN_GUEST_MEMORY_BYTES, MAX_GUEST_MEMORY_BYTES, "guest memory").describe(
      "Memory the guest sees, as a Kubernetes quantity (e.g. 1Gi).",
    ),
    hugepages: z
      .object({
        pageSize: z.enum(["2Mi", "1Gi"]).describe("Hugepage size backing guest memory."),
      })
      .strict()
      .optional()
      .describe("Back guest memory with hugepages of the given size (the node must offer them)."),
  })
  .strict()
  .meta(
    cel(
      {
        rule: "quantity(self.guest).compareTo(quantity('16Mi')) >= 0",
        message: "guest memory must be at least 16Mi",
        fieldPath: ".guest",
      },
      {
        rule: "quantity(self.guest).compareTo(quantity('16Ti')) <= 0",
        message: "guest memory must be at most 16Ti",
        fieldPath: ".guest",
      },
      {
        rule: "quantity(self.guest).isInteger()",
        message: "guest memory must be a whole number of bytes",
        fieldPath: ".guest",
      },
      ...celRulesOf(MEMORY_RULES),
    ),
  );

/** Machine type. */
export const machineSchema = z
  .object({
    type: z
      .enum(["q35", "microvm"])
      .default("q35")
      .describe("q35 (default) or microvm (direct kernel boot only)."),
  })
  .strict();

/** Direct kernel boot: the kernel and initrd come from an OCI image (like KubeVirt's kernelBoot container). */
export const kernelBootSchema = z
  .object({
    image: z.string().min(1, "must name an image").describe("OCI image holding the kernel and initrd."),
    kernelPath: z
      .string()
      .regex(/^\//, "must be an absolute path inside the image")
      .describe("Kernel path in the image."),
    initrdPath: z
      .string()
      .regex(/^\//, "must be an absolute path inside the image")
      .optional()
      .describe("Initrd path in the image."),
    cmdline: z
      .string()
      .max(4096, "must be at most 4096 characters")
      .optional()
      .describe("Kernel command line."),
  })
  .strict();

/** The firmware's rule: one way to boot. */
export const FIRMWARE_RULES: Rule<object>[] = [
  exactlyOneRule(
    "firmware-one-kind",
    ["bios", "uefi", "kernelBoot"],
    "firmware",
    "firmware must set exactly one of bios, uefi or kernelBoot",
  ),
];

/** How the VM boots: exactly one of bios, uefi or kernelBoot. */
export const firmwareSchema = z
  .object({
    bios: z.object({}).strict().optional().describe("SeaBIOS (the default when firmware is omitted)."),
    uefi: z
      .object({
        secureBoot: z.boolean().default(false).describe("Use the Secure Boot OVMF build with enrolled keys."),
        // Optional rather than defaulted: a default would enter every UEFI VM's spec hash and mark each
        // running one RestartRequired after an operator upgrade. Absent means false.
        persistent: z
          .boolean()
          .optional()
          .describe(
            "Keep the UEFI variables (boot entries, BootOrder, enrolled keys) across restarts, on a small " +
              "per-VM state claim the operator creates and deletes with the VM (default false: reset at each start).",
          ),
      })
      .strict()
      .optional()
      .describe("UEFI firmware (OVMF) with a per-VM variable store."),
    kernelBoot: kernelBootSchema.optional().describe("Boot a kernel directly, without firmware."),
  })
  .strict()
  .meta(celOf(FIRMWARE_RULES));
