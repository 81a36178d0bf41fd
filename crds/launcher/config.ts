import { z } from "zod";

/** Version tag of the launcher config; bump on incompatible change and keep the launcher reading the old one. */
export const LAUNCHER_CONFIG_VERSION = "v1";

const absPath = () => z.string().regex(/^\//, "must be an absolute path");
const bytes = () => z.int().positive();

/** How the guest boots. */
export const bootSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("bios") }).strict(),
  z
    .object({
      kind: z.literal("uefi"),
      secureBoot: z.boolean(),
      varsFile: absPath()
        .optional()
        .describe(
          "The variable store on the VM's state claim, kept across pods (created from the template only when " +
            "missing); absent: `${stateDir}/uefi-vars.fd`, which lives as long as the pod.",
        ),
    })
    .strict(),
  z
    .object({
      kind: z.literal("kernel"),
      kernelPath: absPath(),
      initrdPath: absPath().optional(),
      cmdline: z.string().optional(),
    })
    .strict(),
]);

/** Where a disk's bytes come from, resolved to paths inside the pod. */
export const diskSourceSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("pvcFilesystem"),
      mountPath: absPath(),
      capacityBytes: bytes().optional(),
      claimName: z.string(),
      format: z
        .enum(["raw", "qcow2"])
        .optional()
        .describe(
          "How disk.img is opened; absent: raw. Never probed from the image, which the guest writes.",
        ),
    })
    .strict(),
  z.object({ kind: z.literal("pvcBlock"), devicePath: absPath(), claimName: z.string() }).strict(),
  z
    .object({
      kind: z.literal("containerDisk"),
      image: z.string(),
      dir: absPath(),
      path: absPath().optional(),
    })
    .strict(),
  z.object({ kind: z.literal("emptyDisk"), capacityBytes: bytes() }).strict(),
  z
    .object({
      kind: z.literal("cloudInit"),
      instanceId: z.string().min(1),
      hostname: z.string().min(1),
      userData: z.string().optional(),
      userDataDir: absPath().optional(),
      networkData: z.string().optional(),
      networkDataDir: absPath().optional(),
    })
    .strict(),
  z.object({ kind: z.literal("configMap"), mountPath: absPath(), name: z.string() }).strict(),
  z.object({ kind: z.literal("secret"), mountPath: absPath(), name: z.string() }).strict(),
]);

/** A guest disk with its resolved source. */
export const launcherDiskSchema = z
  .object({
    name: z.string().min(1),
    bus: z.enum(["virtio", "scsi", "sata"]),
    bootOrder: z.int().min(1).optional(),
    readOnly: z.boolean(),
    serial: z.string().min(1).max(20),
    cache: z.enum(["none", "writethrough", "writeback"]).optional(),
    source: diskSourceSchema,
  })
  .strict();

/** A guest NIC with its resolved binding and MAC. */
export const launcherInterfaceSchema = z
  .object({
    name: z.string().min(1),
    binding: z.enum(["bridge", "masquerade", "passt"]),
    mac: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/),
    model: z.enum(["virtio", "e1000e", "rtl8139"]),
    ports: z.array(
      z
        .object({
          name: z.string().optional(),
          port: z.int().min(1).max(65535),
          protocol: z.enum(["TCP", "UDP"]),
        })
        .strict(),
    ),
    bootOrder: z.int().min(1).optional(),
    network: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("pod"), vmNetworkCIDR: z.string() }).strict(),
      z.object({ kind: z.literal("multus"), networkName: z.string() }).strict(),
    ]),
  })
  .strict();

/**
 * Everything the launcher needs to run one VM, resolved from the VirtualMachine by the operator
 * (`launcherConfigFromVm`). Facts only the pod knows (its IP, MTU, DNS) are read by the launcher itself.
 */
export const launcherConfigSchema = z
  .object({
    version: z.literal(LAUNCHER_CONFIG_VERSION),
    vm: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }).strict(),
    accelerator: z
      .object({
        allowEmulation: z
          .boolean()
          .describe("Fall back to TCG when /dev/kvm is unusable (explicit; never silent)."),
      })
      .strict(),
    machine: z.enum(["q35", "microvm"]),
    cpu: z
      .object({
        sockets: z.int().min(1),
        cores: z.int().min(1),
        threads: z.int().min(1),
        model: z.string().min(1),
        // Optional, so a config without it (an older operator's) still parses.
        dedicated: z
          .object({ isolateEmulatorThread: z.boolean(), numaPassthrough: z.boolean() })
          .strict()
          .optional()
          .describe("Pin each vCPU thread to one CPU of the pod's cpuset (launcher/qemu/pinning.ts)."),
      })
      .strict(),
    memory: z
      .object({
        guestBytes: bytes(),
        hugepages: z
          .object({ pageSize: z.enum(["2Mi", "1Gi"]), mountPath: absPath() })
          .strict()
          .optional(),
      })
      .strict(),
    boot: bootSchema,
    disks: z.array(launcherDiskSchema),
    interfaces: z.array(launcherInterfaceSchema),
    devices: z
      .object({
        serialConsole: z.boolean(),
        vnc: z.boolean(),
        rng: z.boolean(),
        balloon: z.object({ enabled: z.boolean(), statsPollSeconds: z.int().min(0) }).strict(),
        // Optional, so a config without it (an older operator's) still parses.
        watchdog: z
          .object({ model: z.literal("i6300esb"), action: z.enum(["poweroff", "reset", "shutdown"]) })
          .strict()
          .optional(),
      })
      .strict(),
    // Optional, so a config without them (an older operator's) still parses.
    hyperv: z
      .object({
        enlightenments: z.array(z.string().regex(/^[a-z]+$/)),
        spinlocks: z.int().min(4095).optional(),
      })
      .strict()
      .optional()
      .describe("Hyper-V enlightenments by KubeVirt name; the launcher drops the KVM-only ones under TCG."),
    clock: z
      .object({
        base: z.enum(["utc", "localtime"]),
        hpet: z.boolean(),
        pitTickPolicy: z.enum(["delay", "discard"]).optional(),
        rtcCatchup: z.boolean(),
      })
      .strict()
      .optional(),
    tpm: z
      .object({
        stateDir: absPath().describe("swtpm's state directory (tpm2-00.permall)."),
        persistent: z.boolean().describe("stateDir is on the VM's state claim, kept across pods."),
      })
      .strict()
      .optional()
      .describe("A virtual TPM 2.0: swtpm started by the launcher before QEMU, attached as tpm-crb."),
    terminationGracePeriodSeconds: z.int().min(0),
    migration: z
      .object({ incoming: z.boolean() })
      .strict()
      .optional()
      .describe(
        "incoming: this pod is a migration target (QEMU waits with -incoming defer; crds/contract/migration.ts).",
      ),
    paths: z
      .object({
        runDir: absPath(),
        stateDir: absPath(),
        volumesDir: absPath(),
        blockDir: absPath(),
        containerDisksDir: absPath(),
        kernelDir: absPath(),
      })
      .strict(),
    http: z.object({ port: z.int().min(1).max(65535) }).strict(),
  })
  .strict();

/** The validated launcher config. */
export type LauncherConfig = z.infer<typeof launcherConfigSchema>;
/** A resolved disk. */
export type LauncherDisk = z.infer<typeof launcherDiskSchema>;
/** A resolved NIC. */
export type LauncherInterface = z.infer<typeof launcherInterfaceSchema>;
