/** Pure rendering of `vireo status`: a kubectl-like table for many VMs, a description for one. */
import { runStrategyOf, stateOf, type VmView } from "./vm-view.ts";

/** kubectl's age format: 42s, 5m, 3h, 12d (the largest unit that fits, no fractions). */
export function formatAge(from: string | Date | undefined, now: Date): string {
  if (from === undefined) return "<unknown>";
  const ms = now.getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms)) return "<unknown>";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Columns padded to the widest cell, three spaces apart, as kubectl prints them. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function readyOf(vm: VmView): string {
  const cond = vm.status?.conditions?.find((c) => c.type === "Ready");
  if (cond) return cond.status;
  return vm.status?.ready === undefined ? "-" : vm.status.ready ? "True" : "False";
}

/** The list view; `wide` adds the launcher pod and restarts, `allNamespaces` a NAMESPACE column. */
export function formatVmTable(
  vms: readonly VmView[],
  opts: { now: Date; wide: boolean; allNamespaces: boolean },
): string {
  if (vms.length === 0) return "";
  const header = [
    ...(opts.allNamespaces ? ["NAMESPACE"] : []),
    "NAME",
    "STATUS",
    "READY",
    "RUNSTRATEGY",
    "NODE",
    "IP",
    "AGE",
    ...(opts.wide ? ["LAUNCHER POD", "RESTARTS"] : []),
  ];
  const rows = vms.map((vm) => [
    ...(opts.allNamespaces ? [vm.metadata.namespace ?? ""] : []),
    vm.metadata.name,
    stateOf(vm),
    readyOf(vm),
    runStrategyOf(vm),
    vm.status?.nodeName ?? "<none>",
    vm.status?.ipAddress ?? "<none>",
    formatAge(vm.metadata.creationTimestamp, opts.now),
    ...(opts.wide ? [vm.status?.launcherPod ?? "<none>", String(vm.status?.restartCount ?? 0)] : []),
  ]);
  return formatTable(header, rows);
}

/** The detail view of one VM. */
export function formatVmDetail(vm: VmView, now: Date): string {
  const s = vm.status ?? {};
  const generation = vm.metadata.generation;
  const observed = s.observedGeneration;
  const fields: [string, string][] = [
    ["Name", vm.metadata.name],
    ["Namespace", vm.metadata.namespace ?? ""],
    ["Status", stateOf(vm) + (s.phase && s.phase !== stateOf(vm) ? ` (phase ${s.phase})` : "")],
    ["Ready", readyOf(vm)],
    ["Run strategy", runStrategyOf(vm)],
    ["Node", s.nodeName ?? "<none>"],
    ["Launcher pod", s.launcherPod ?? "<none>"],
    ["Restarts", String(s.restartCount ?? 0)],
    ["Age", formatAge(vm.metadata.creationTimestamp, now)],
    [
      "Generation",
      generation === undefined
        ? "-"
        : `${generation} (observed ${observed ?? "-"}${observed !== undefined && observed < generation ? ", not yet reconciled" : ""})`,
    ],
  ];
  const width = Math.max(...fields.map(([k]) => k.length)) + 3;
  const out = fields.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`);
  const ifaces = s.interfaces ?? [];
  out.push("Interfaces:");
  out.push(
    ifaces.length === 0
      ? "  <none>"
      : indent(
          formatTable(
            ["NAME", "MAC", "IPS"],
            ifaces.map((i) => [i.name, i.mac ?? "", (i.ips ?? []).join(",")]),
          ),
        ),
  );
  const conditions = s.conditions ?? [];
  out.push("Conditions:");
  out.push(
    conditions.length === 0
      ? "  <none>"
      : indent(
          formatTable(
            ["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
            conditions.map((c) => [
              c.type,
              c.status,
              c.reason ?? "",
              formatAge(c.lastTransitionTime, now),
              c.message ?? "",
            ]),
          ),
        ),
  );
  return out.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
