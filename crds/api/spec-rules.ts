import type { z } from "zod";
import { parseQuantity } from "./quantity.ts";
import { VOLUME_SOURCES } from "./storage.ts";
import type { vmSpecShape } from "./spec.ts";

type Spec = z.output<typeof vmSpecShape>;
type Ctx = z.RefinementCtx;

const issue = (ctx: Ctx, path: (string | number)[], message: string) =>
  ctx.addIssue({ code: "custom", path, message });

function checkOneOf(
  ctx: Ctx,
  obj: object,
  fields: readonly string[],
  path: (string | number)[],
  what: string,
) {
  const set = fields.filter((f) => (obj as Record<string, unknown>)[f] !== undefined);
  if (set.length !== 1)
    issue(
      ctx,
      path,
      `${what} must set exactly one of ${fields.join(", ")}${set.length ? ` (found ${set.join(", ")})` : ""}`,
    );
}

function unique(ctx: Ctx, items: { name: string }[], field: string) {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.name);
    if (first !== undefined)
      issue(ctx, [field, i, "name"], `duplicate name "${item.name}" (also at ${field}[${first}])`);
    else seen.set(item.name, i);
  });
}

/**
 * Cross-field rules that a field-by-field schema cannot express. The same rules that the API server can
 * check are also CEL rules in the CRD; these run offline (`vireo validate`) and in the operator.
 */
export function checkSpecRules(spec: Spec, ctx: Ctx): void {
  checkOneOf(ctx, spec.firmware, ["bios", "uefi", "kernelBoot"], ["firmware"], "firmware");
  spec.volumes.forEach((v, i) => checkOneOf(ctx, v, VOLUME_SOURCES, ["volumes", i], "a volume"));
  spec.networks.forEach((n, i) => checkOneOf(ctx, n, ["pod", "multus"], ["networks", i], "a network"));
  if (spec.readinessProbe)
    checkOneOf(ctx, spec.readinessProbe, ["httpGet", "tcpSocket"], ["readinessProbe"], "a probe");
  if (spec.livenessProbe)
    checkOneOf(ctx, spec.livenessProbe, ["httpGet", "tcpSocket"], ["livenessProbe"], "a probe");
  unique(ctx, spec.disks, "disks");
  unique(ctx, spec.volumes, "volumes");
  unique(ctx, spec.interfaces, "interfaces");
  unique(ctx, spec.networks, "networks");

  const volumes = new Set(spec.volumes.map((v) => v.name));
  const disks = new Set(spec.disks.map((d) => d.name));
  const volumeByName = new Map(spec.volumes.map((v) => [v.name, v]));
  spec.disks.forEach((d, i) => {
    const v = volumeByName.get(d.name);
    const isoBacked = Boolean(v?.cloudInitNoCloud ?? v?.configMap ?? v?.secret);
    // An emulated IDE/SATA hard disk cannot be read-only in QEMU; ISO-backed volumes become CD-ROMs instead.
    if (d.bus === "sata" && !isoBacked && (d.readOnly || v?.persistentVolumeClaim?.readOnly))
      issue(ctx, ["disks", i, "readOnly"], "a SATA hard disk cannot be read-only; use bus virtio or scsi");
  });
  spec.disks.forEach((d, i) => {
    if (!volumes.has(d.name))
      issue(ctx, ["disks", i, "name"], `disk "${d.name}" has no volume of the same name`);
  });
  spec.volumes.forEach((v, i) => {
    if (!disks.has(v.name)) issue(ctx, ["volumes", i, "name"], `volume "${v.name}" is not used by any disk`);
  });
  spec.volumes.forEach((v, i) => {
    const ci = v.cloudInitNoCloud;
    if (ci?.userData !== undefined && ci.userDataSecretRef)
      issue(ctx, ["volumes", i, "cloudInitNoCloud"], "set userData or userDataSecretRef, not both");
    if (ci?.networkData !== undefined && ci.networkDataSecretRef)
      issue(ctx, ["volumes", i, "cloudInitNoCloud"], "set networkData or networkDataSecretRef, not both");
  });
  const cloudInits = spec.volumes.filter((v) => v.cloudInitNoCloud);
  if (cloudInits.length > 1) issue(ctx, ["volumes"], "at most one cloudInitNoCloud volume is allowed");

  const networks = new Map(spec.networks.map((n) => [n.name, n]));
  const ifaceNames = new Set(spec.interfaces.map((i) => i.name));
  spec.interfaces.forEach((iface, i) => {
    const net = networks.get(iface.name);
    if (!net)
      return issue(
        ctx,
        ["interfaces", i, "name"],
        `interface "${iface.name}" has no network of the same name`,
      );
    if (net.multus && iface.binding && iface.binding !== "bridge")
      issue(
        ctx,
        ["interfaces", i, "binding"],
        `binding ${iface.binding} is only for the pod network; Multus networks use bridge`,
      );
    if (iface.ports && iface.binding === "bridge")
      issue(
        ctx,
        ["interfaces", i, "ports"],
        "ports can only be forwarded with the masquerade or passt binding",
      );
    if (net.multus && iface.ports)
      issue(ctx, ["interfaces", i, "ports"], "ports cannot be forwarded on a Multus network");
  });
  spec.networks.forEach((n, i) => {
    if (!ifaceNames.has(n.name))
      issue(ctx, ["networks", i, "name"], `network "${n.name}" is not used by any interface`);
  });
  if (spec.networks.filter((n) => n.pod).length > 1)
    issue(ctx, ["networks"], "at most one network may be the pod network");
  const podIndex = spec.interfaces.findIndex((i) => networks.get(i.name)?.pod);
  if (podIndex > 0)
    issue(ctx, ["interfaces", podIndex], "the pod network interface must be the first interface");

  const boot = new Map<number, string>();
  const checkBoot = (order: number | undefined, path: (string | number)[]) => {
    if (order === undefined) return;
    const other = boot.get(order);
    if (other) issue(ctx, [...path, "bootOrder"], `bootOrder ${order} is already used by ${other}`);
    else boot.set(order, path.join("."));
  };
  spec.disks.forEach((d, i) => checkBoot(d.bootOrder, ["disks", i]));
  spec.interfaces.forEach((n, i) => checkBoot(n.bootOrder, ["interfaces", i]));

  if (spec.machine.type === "microvm") {
    if (!spec.firmware.kernelBoot)
      issue(ctx, ["machine", "type"], "machine type microvm boots only with firmware.kernelBoot");
    spec.disks.forEach((d, i) => {
      if (d.bus !== "virtio")
        issue(ctx, ["disks", i, "bus"], `bus ${d.bus} is not available on microvm; use virtio`);
    });
  }

  const hp = spec.memory.hugepages;
  const guest = parseQuantity(spec.memory.guest);
  if (hp && guest !== undefined) {
    const page = parseQuantity(hp.pageSize)!;
    if (guest % page !== 0)
      issue(
        ctx,
        ["memory", "guest"],
        `guest memory ${spec.memory.guest} must be a multiple of the hugepage size ${hp.pageSize}`,
      );
  }
}
