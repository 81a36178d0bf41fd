import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { migrationMetrics } from "../../operator/migration/metrics.ts";
import { createMetrics } from "../../operator/runtime/metrics.ts";
import { VmMetricsCollector } from "./collector.ts";
import { promqlMetricNames, seriesNames } from "./promql-names.ts";
import { registerVmMetrics } from "./register.ts";
import type { VmMetricsSource } from "./source.ts";

const DASHBOARD = new URL("../../charts/vireo/files/dashboard.json", import.meta.url);
const ALERTS = new URL("../../charts/vireo/files/alerts.yaml", import.meta.url);

/** The series names the operator's registry defines (operator/runtime/metrics.ts). */
function operatorSeries(): string[] {
  const { registry } = createMetrics(() => new Map());
  // The migration controller registers its own on the same registry (operator/wiring.ts).
  migrationMetrics(registry);
  return registry.getMetricsAsArray().flatMap((m) => seriesNames({ name: m.name, type: String(m.type) }));
}

// kube-state-metrics series the alerts use (not ours; listed so a typo still fails).
const KUBE_STATE_METRICS = ["kube_pod_created", "kube_pod_status_ready", "kube_pod_status_phase"];

/** The series names the launcher's registry defines (registration alone; nothing is collected). */
function launcherSeries(): string[] {
  const idle: VmMetricsSource = {
    identity: () => ({ namespace: "n", name: "v", machine: "q35", firmware: "bios", accelerator: "tcg" }),
    qemuPid: () => undefined,
    qmp: () => Promise.reject(new Error("unused")),
    nics: () => [],
    disks: () => [],
    balloonQomPath: () => undefined,
  };
  const registry = new Registry();
  registerVmMetrics(registry, new VmMetricsCollector(idle));
  return registry.getMetricsAsArray().flatMap((m) => seriesNames({ name: m.name, type: String(m.type) }));
}

const target = z.looseObject({ expr: z.string().min(1), refId: z.string() });
const panel = z.looseObject({
  type: z.string(),
  title: z.string().min(1),
  id: z.number().int(),
  targets: z.array(target).optional(),
  gridPos: z.object({ h: z.number(), w: z.number(), x: z.number(), y: z.number() }),
});
const variable = z.looseObject({ name: z.string(), type: z.string(), query: z.unknown().optional() });
const dashboardSchema = z.looseObject({
  title: z.string(),
  uid: z.string().regex(/^[\w-]{1,40}$/),
  schemaVersion: z.number().int(),
  templating: z.object({ list: z.array(variable) }),
  panels: z.array(panel).min(1),
});

function loadDashboard() {
  return dashboardSchema.parse(JSON.parse(readFileSync(DASHBOARD, "utf8")));
}

/** Every PromQL expression of the dashboard: panel targets and `label_values(<expr>, label)` variables. */
function dashboardExpressions(d: ReturnType<typeof loadDashboard>): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of d.panels)
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  for (const v of d.templating.list) {
    if (v.type !== "query") continue;
    const query = z.object({ query: z.string() }).parse(v.query).query;
    const inner = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
    if (inner === undefined) throw new Error(`variable ${v.name}: not a label_values query: ${query}`);
    out.push({ where: `variable ${v.name}`, expr: inner });
  }
  return out;
}

describe("the Grafana dashboard", () => {
  it("is valid JSON with unique panel ids and namespace/name variables", () => {
    const d = loadDashboard();
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(d.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(["namespace", "name"]));
    for (const p of d.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  });

  it("filters every per-VM query by the namespace and name variables", () => {
    for (const { where, expr } of dashboardExpressions(loadDashboard())) {
      if (!/vireo_vm_/.test(expr) || where === "variable namespace") continue;
      for (const selector of expr.match(/vireo_vm_\w+(\{[^}]*\})?/g) ?? []) {
        expect(selector, where).toMatch(/namespace=~"\$namespace"/);
        if (where !== "variable name") expect(selector, where).toMatch(/name=~"\$name"/);
      }
    }
  });

  it("reads only metrics the launcher and the operator define", () => {
    const defined = new Set([...launcherSeries(), ...operatorSeries()]);
    const used = new Set<string>();
    for (const { where, expr } of dashboardExpressions(loadDashboard())) {
      const names = promqlMetricNames(expr);
      expect(names.length, `${where} reads no metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(defined.has(name), `${where} reads ${name}, which nothing defines`).toBe(true);
        used.add(name);
      }
    }
    // Every launcher and operator metric is on the dashboard somewhere.
    for (const name of launcherSeries()) expect(used.has(name), `${name} is on no panel`).toBe(true);
    const { registry } = createMetrics(() => new Map());
    for (const { name } of registry.getMetricsAsArray().filter((m) => m.name.startsWith("vireo_operator_"))) {
      expect(
        [...used].some((u) => u.startsWith(name)),
        `${name} is on no panel`,
      ).toBe(true);
    }
  });
});

describe("the alert rules", () => {
  it("read only metrics the launcher, the operator or kube-state-metrics define", () => {
    const rules = z
      .object({
        groups: z.array(
          z.object({
            name: z.string(),
            rules: z.array(z.looseObject({ alert: z.string(), expr: z.string() })),
          }),
        ),
      })
      .parse(parseYaml(readFileSync(ALERTS, "utf8")));
    const defined = new Set([...launcherSeries(), ...operatorSeries(), ...KUBE_STATE_METRICS]);
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        "VireoVMCrashLooping",
        "VireoLauncherNotReady",
        "VireoOperatorNoLeader",
        "VireoVMGuestMemoryPressure",
        "VireoVMDiskIOErrors",
      ]),
    );
    for (const rule of alerts) {
      const names = promqlMetricNames(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(defined.has(name), `${rule.alert} reads ${name}`).toBe(true);
    }
  });
});
