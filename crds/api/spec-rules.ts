/**
 * The spec's cross-field rules, each written once ({@link Rule}): its CEL goes into the CRD on the object it
 * belongs to, its check runs in `vireo validate` and the operator. This file imports the parts of the spec,
 * never `spec.ts` (which imports it), so the two do not import each other.
 */
import type { z } from "zod";
import {
  CPU_RULES,
  FIRMWARE_RULES,
  MEMORY_RULES,
  type firmwareSchema,
  type machineSchema,
} from "./compute.ts";
import type { cpuSchema, memorySchema } from "./compute.ts";
import { PROBE_RULES, type guestProbeSchema } from "./devices.ts";
import { INTERFACE_RULES, NETWORK_RULES, type interfaceSchema, type networkSchema } from "./network.ts";
import { runRules, type Rule, type RulePath } from "./rule.ts";
import { CLOUD_INIT_RULES, VOLUME_RULES, type diskSchema, type volumeSchema } from "./storage.ts";

/** The spec as the rules see it: defaults applied, field rules passed. */
export interface RuleSpec {
  cpu: z.output<typeof cpuSchema>;
  memory: z.output<typeof memorySchema>;
  machine: z.output<typeof machineSchema>;
  firmware: z.output<typeof firmwareSchema>;
  disks: z.output<typeof diskSchema>[];
  volumes: z.output<typeof volumeSchema>[];
  interfaces: z.output<typeof interfaceSchema>[];
  networks: z.output<typeof networkSchema>[];
  readinessProbe?: z.output<typeof guestProbeSchema> | undefined;
  livenessProbe?: z.output<typeof guestProbeSchema> | undefined;
}

/** A CEL predicate: volume v backs disk d with an ISO (a CD-ROM, read-only by nature). */
const ISO_BACKED = "(has(v.cloudInitNoCloud) || has(v.configMap) || has(v.secret))";

/** A CEL predicate: disk x is a bootOrder duplicate in `list` (x and e are elements). */
const dupBoot = (list: string) =>
  `has(x.bootOrder) && ${list}.filter(e, has(e.bootOrder) && e.bootOrder == x.bootOrder).size() > 1`;

const byName = <T extends { name: string }>(items: T[]) => new Map(items.map((i) => [i.name, i]));

/**
 * Rules on the whole spec. CEL on the spec runs with defaults applied. fieldPath names the list the rule is
 * about; the element itself cannot be named there: fieldPath is static, and a messageExpression that finds
 * the element exceeds the API server's cost budget for rules on the whole spec. The check names it.
 */
export const SPEC_RULES: Rule<RuleSpec>[] = [
  {
    id: "disk-has-volume",
    cel: [
      {
        rule: "self.disks.all(d, self.volumes.exists(v, v.name == d.name))",
        message: "every disk needs a volume of the same name",
        fieldPath: ".disks",
        reason: "FieldValueRequired",
      },
    ],
    check(spec, report) {
      const volumes = new Set(spec.volumes.map((v) => v.name));
      spec.disks.forEach((d, i) => {
        if (!volumes.has(d.name))
          report(["disks", i, "name"], `disk "${d.name}" has no volume of the same name`);
      });
    },
  },
  {
    id: "volume-used-by-disk",
    cel: [
      {
        rule: "self.volumes.all(v, self.disks.exists(d, d.name == v.name))",
        message: "every volume must be used by a disk of the same name",
        fieldPath: ".volumes",
      },
    ],
    check(spec, report) {
      const disks = new Set(spec.disks.map((d) => d.name));
      spec.volumes.forEach((v, i) => {
        if (!disks.has(v.name)) report(["volumes", i, "name"], `volume "${v.name}" is not used by any disk`);
      });
    },
  },
  {
    id: "one-cloud-init",
    cel: [
      {
        rule: "self.volumes.filter(v, has(v.cloudInitNoCloud)).size() <= 1",
        message: "at most one cloudInitNoCloud volume is allowed",
        fieldPath: ".volumes",
      },
    ],
    check(spec, report) {
      if (spec.volumes.filter((v) => v.cloudInitNoCloud).length > 1)
        report(["volumes"], "at most one cloudInitNoCloud volume is allowed");
    },
  },
  {
    id: "sata-hard-disk-writable",
    cel: [
      {
        rule:
          "self.disks.all(d, d.bus != 'sata' || self.volumes.exists(v, v.name == d.name && " +
          `${ISO_BACKED}) || !(d.readOnly || self.volumes.exists(v, v.name == d.name && ` +
          "has(v.persistentVolumeClaim) && has(v.persistentVolumeClaim.readOnly) && v.persistentVolumeClaim.readOnly)))",
        message: "a SATA hard disk cannot be read-only; use bus virtio or scsi",
        fieldPath: ".disks",
      },
    ],
    check(spec, report) {
      const volumes = byName(spec.volumes);
      spec.disks.forEach((d, i) => {
        const v = volumes.get(d.name);
        const isoBacked = Boolean(v?.cloudInitNoCloud ?? v?.configMap ?? v?.secret);
        // An emulated IDE/SATA hard disk cannot be read-only in QEMU; ISO-backed volumes become CD-ROMs instead.
        if (d.bus === "sata" && !isoBacked && (d.readOnly || v?.persistentVolumeClaim?.readOnly))
          report(["disks", i, "readOnly"], "a SATA hard disk cannot be read-only; use bus virtio or scsi");
      });
    },
  },
  {
    id: "boot-order-unique",
    // Three rules for one: one CEL rule over disks and interfaces together exceeds the cost budget.
    cel: [
      {
        rule: `!self.disks.exists(x, ${dupBoot("self.disks")})`,
        message: "each bootOrder may be used once",
        fieldPath: ".disks",
        reason: "FieldValueDuplicate",
      },
      {
        rule: `!self.interfaces.exists(x, ${dupBoot("self.interfaces")})`,
        message: "each bootOrder may be used once",
        fieldPath: ".interfaces",
        reason: "FieldValueDuplicate",
      },
      {
        rule: "!self.interfaces.exists(i, has(i.bootOrder) && self.disks.exists(d, has(d.bootOrder) && d.bootOrder == i.bootOrder))",
        message: "each bootOrder may be used once (an interface has a disk's bootOrder)",
        fieldPath: ".interfaces",
        reason: "FieldValueDuplicate",
      },
    ],
    check(spec, report) {
      const boot = new Map<number, string>();
      const checkBoot = (order: number | undefined, path: RulePath) => {
        if (order === undefined) return;
        const other = boot.get(order);
        if (other) report([...path, "bootOrder"], `bootOrder ${order} is already used by ${other}`);
        else boot.set(order, path.join("."));
      };
      spec.disks.forEach((d, i) => checkBoot(d.bootOrder, ["disks", i]));
      spec.interfaces.forEach((n, i) => checkBoot(n.bootOrder, ["interfaces", i]));
    },
  },
  {
    id: "interface-has-network",
    cel: [
      {
        rule: "self.interfaces.all(i, self.networks.exists(n, n.name == i.name))",
        message: "every interface needs a network of the same name",
        fieldPath: ".interfaces",
        reason: "FieldValueRequired",
      },
    ],
    check(spec, report) {
      const networks = new Set(spec.networks.map((n) => n.name));
      spec.interfaces.forEach((iface, i) => {
        if (!networks.has(iface.name))
          report(["interfaces", i, "name"], `interface "${iface.name}" has no network of the same name`);
      });
    },
  },
  {
    id: "network-used-by-interface",
    cel: [
      {
        rule: "self.networks.all(n, self.interfaces.exists(i, i.name == n.name))",
        message: "every network must be used by an interface of the same name",
        fieldPath: ".networks",
      },
    ],
    check(spec, report) {
      const interfaces = new Set(spec.interfaces.map((i) => i.name));
      spec.networks.forEach((n, i) => {
        if (!interfaces.has(n.name))
          report(["networks", i, "name"], `network "${n.name}" is not used by any interface`);
      });
    },
  },
  {
    id: "one-pod-network",
    cel: [
      {
        rule: "self.networks.filter(n, has(n.pod)).size() <= 1",
        message: "at most one network may be the pod network",
        fieldPath: ".networks",
      },
    ],
    check(spec, report) {
      if (spec.networks.filter((n) => n.pod).length > 1)
        report(["networks"], "at most one network may be the pod network");
    },
  },
  {
    id: "multus-binds-bridge",
    cel: [
      {
        rule:
          "self.interfaces.all(i, !has(i.binding) || i.binding == 'bridge' || " +
          "!self.networks.exists(n, n.name == i.name && has(n.multus)))",
        message: "masquerade and passt are only for the pod network; Multus networks use bridge",
        fieldPath: ".interfaces",
      },
    ],
    check(spec, report) {
      const networks = byName(spec.networks);
      spec.interfaces.forEach((iface, i) => {
        if (networks.get(iface.name)?.multus && iface.binding && iface.binding !== "bridge")
          report(
            ["interfaces", i, "binding"],
            `binding ${iface.binding} is only for the pod network; Multus networks use bridge`,
          );
      });
    },
  },
  {
    id: "multus-no-ports",
    cel: [
      {
        rule: "self.interfaces.all(i, !has(i.ports) || !self.networks.exists(n, n.name == i.name && has(n.multus)))",
        message: "ports cannot be forwarded on a Multus network",
        fieldPath: ".interfaces",
        reason: "FieldValueForbidden",
      },
    ],
    check(spec, report) {
      const networks = byName(spec.networks);
      spec.interfaces.forEach((iface, i) => {
        if (networks.get(iface.name)?.multus && iface.ports)
          report(["interfaces", i, "ports"], "ports cannot be forwarded on a Multus network");
      });
    },
  },
  {
    id: "pod-network-first",
    cel: [
      {
        rule:
          "!self.interfaces.exists(i, self.networks.exists(n, n.name == i.name && has(n.pod))) || " +
          "self.networks.exists(n, n.name == self.interfaces[0].name && has(n.pod))",
        message: "the pod network interface must be the first interface",
        fieldPath: ".interfaces",
      },
    ],
    check(spec, report) {
      const networks = byName(spec.networks);
      const podIndex = spec.interfaces.findIndex((i) => networks.get(i.name)?.pod);
      if (podIndex > 0)
        report(["interfaces", podIndex], "the pod network interface must be the first interface");
    },
  },
  {
    id: "microvm-kernel-boot",
    cel: [
      {
        rule: "self.machine.type != 'microvm' || has(self.firmware.kernelBoot)",
        message: "machine type microvm boots only with firmware.kernelBoot",
        fieldPath: ".machine.type",
      },
    ],
    check(spec, report) {
      if (spec.machine.type === "microvm" && !spec.firmware.kernelBoot)
        report(["machine", "type"], "machine type microvm boots only with firmware.kernelBoot");
    },
  },
  {
    id: "microvm-virtio-disks",
    cel: [
      {
        rule: "self.machine.type != 'microvm' || self.disks.all(d, d.bus == 'virtio')",
        message: "machine type microvm has only virtio disks",
        fieldPath: ".disks",
      },
    ],
    check(spec, report) {
      if (spec.machine.type !== "microvm") return;
      spec.disks.forEach((d, i) => {
        if (d.bus !== "virtio")
          report(["disks", i, "bus"], `bus ${d.bus} is not available on microvm; use virtio`);
      });
    },
  },
  {
    // The pod copies both out of their images with an init container named `copy-<name>`: a containerDisk
    // named `kernel` beside kernelBoot gives the pod two containers of one name, which the API server refuses.
    id: "kernel-boot-name-free",
    cel: [
      {
        rule: "!has(self.firmware.kernelBoot) || !self.volumes.exists(v, v.name == 'kernel' && has(v.containerDisk))",
        message:
          "with firmware.kernelBoot no containerDisk volume may be named kernel (its copy container would clash)",
        fieldPath: ".volumes",
        reason: "FieldValueDuplicate",
      },
    ],
    check(spec, report) {
      if (!spec.firmware.kernelBoot) return;
      spec.volumes.forEach((v, i) => {
        if (v.name === "kernel" && v.containerDisk)
          report(
            ["volumes", i, "name"],
            'with firmware.kernelBoot no containerDisk volume may be named "kernel" (its copy container would clash with the kernel\'s)',
          );
      });
    },
  },
  {
    // A cloud-init volume `x` mounts its Secrets at volumes/x-userdata and volumes/x-networkdata, where a
    // volume named `x-userdata` is mounted too: two mounts at one path, which the API server refuses.
    id: "cloud-init-paths-free",
    cel: [
      {
        rule:
          "self.volumes.all(c, !has(c.cloudInitNoCloud) || self.volumes.all(v, " +
          "!(has(c.cloudInitNoCloud.userDataSecretRef) && v.name == c.name + '-userdata') && " +
          "!(has(c.cloudInitNoCloud.networkDataSecretRef) && v.name == c.name + '-networkdata')))",
        message:
          "a volume may not be named <cloud-init volume>-userdata or -networkdata: the cloud-init Secrets are mounted there",
        fieldPath: ".volumes",
        reason: "FieldValueDuplicate",
      },
    ],
    check(spec, report) {
      const taken = new Map<string, string>();
      for (const c of spec.volumes) {
        const ci = c.cloudInitNoCloud;
        if (ci?.userDataSecretRef) taken.set(`${c.name}-userdata`, c.name);
        if (ci?.networkDataSecretRef) taken.set(`${c.name}-networkdata`, c.name);
      }
      spec.volumes.forEach((v, i) => {
        const by = taken.get(v.name);
        if (by !== undefined)
          report(
            ["volumes", i, "name"],
            `volume name "${v.name}" is where cloud-init volume "${by}" mounts its Secret; rename one of them`,
          );
      });
    },
  },
  {
    id: "names-unique",
    cel: [],
    server:
      "list-map keys: disks, volumes, interfaces and networks are x-kubernetes-list-type map keyed by name",
    check(spec, report) {
      const lists = {
        disks: spec.disks,
        volumes: spec.volumes,
        interfaces: spec.interfaces,
        networks: spec.networks,
      };
      for (const [field, items] of Object.entries(lists)) {
        const seen = new Map<string, number>();
        items.forEach((item, i) => {
          const first = seen.get(item.name);
          if (first !== undefined)
            report([field, i, "name"], `duplicate name "${item.name}" (also at ${field}[${first}])`);
          else seen.set(item.name, i);
        });
      }
    },
  },
];

/** Where a set of rules applies inside the spec: its objects with their paths. */
export interface RuleScope {
  /** The objects' place in the spec, as in the CRD schema (`[*]` for each item of a list). */
  at: string;
  rules: readonly Rule<never>[];
  objects(spec: RuleSpec): [RulePath, unknown][];
}

const one = (path: RulePath, value: unknown): [RulePath, unknown][] =>
  value === undefined ? [] : [[path, value]];
const each = <T>(field: string, items: T[], pick: (item: T) => unknown = (x) => x, sub: RulePath = []) =>
  items.flatMap((item, i) => one([field, i, ...sub], pick(item)));

/** Every rule of a spec, by where it applies; the spec's check and the CEL parity test both walk this. */
export const RULE_SCOPES: RuleScope[] = [
  { at: "spec", rules: SPEC_RULES, objects: (s) => one([], s) },
  { at: "spec.cpu", rules: CPU_RULES, objects: (s) => one(["cpu"], s.cpu) },
  { at: "spec.memory", rules: MEMORY_RULES, objects: (s) => one(["memory"], s.memory) },
  { at: "spec.firmware", rules: FIRMWARE_RULES, objects: (s) => one(["firmware"], s.firmware) },
  { at: "spec.volumes[*]", rules: VOLUME_RULES, objects: (s) => each("volumes", s.volumes) },
  {
    at: "spec.volumes[*].cloudInitNoCloud",
    rules: CLOUD_INIT_RULES,
    objects: (s) => each("volumes", s.volumes, (v) => v.cloudInitNoCloud, ["cloudInitNoCloud"]),
  },
  { at: "spec.interfaces[*]", rules: INTERFACE_RULES, objects: (s) => each("interfaces", s.interfaces) },
  { at: "spec.networks[*]", rules: NETWORK_RULES, objects: (s) => each("networks", s.networks) },
  {
    at: "spec.readinessProbe",
    rules: PROBE_RULES,
    objects: (s) => one(["readinessProbe"], s.readinessProbe),
  },
  { at: "spec.livenessProbe", rules: PROBE_RULES, objects: (s) => one(["livenessProbe"], s.livenessProbe) },
];

/**
 * Cross-field rules that a field-by-field schema cannot express: every rule of {@link RULE_SCOPES} on every
 * object it applies to. The API server checks the same rules as CEL (all but `names-unique`, which it checks
 * as list-map keys); these run offline (`vireo validate`) and in the operator.
 */
export function checkSpecRules(spec: RuleSpec, ctx: z.RefinementCtx): void {
  for (const scope of RULE_SCOPES)
    for (const [at, self] of scope.objects(spec)) runRules(scope.rules as Rule<unknown>[], self, ctx, at);
}
