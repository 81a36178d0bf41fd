/**
 * The alert rules and the dashboard's queries against the real Prometheus tooling: `promtool check rules`
 * (syntax, templates), `promtool test rules` (test/prometheus/alerts.test.yaml: each alert firing and not
 * firing on synthetic series), and every dashboard query parsed by promtool as a recording rule.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { z } from "zod";

const run = promisify(execFile);
const ALERTS = "charts/vireo/files/alerts.yaml";
const DASHBOARD = "charts/vireo/files/dashboard.json";
const dir = mkdtempSync(join(tmpdir(), "vireo-rules-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("promtool", args, { timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("alert rules", () => {
  it("pass promtool check rules", async () => {
    const result = await promtool("check", "rules", ALERTS);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("pass their promtool unit tests", async () => {
    const result = await promtool("test", "rules", "test/prometheus/alerts.test.yaml");
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS");
  });
});

describe("dashboard queries", () => {
  it("all parse as PromQL", async () => {
    const dashboard = z
      .object({
        panels: z.array(
          z.looseObject({
            title: z.string(),
            targets: z.array(z.object({ expr: z.string() }).loose()).optional(),
          }),
        ),
      })
      .loose()
      .parse(JSON.parse(readFileSync(DASHBOARD, "utf8")));
    // Grafana's variables, as Grafana substitutes them.
    const substitute = (expr: string) =>
      expr.replaceAll("$__rate_interval", "1m").replaceAll("$namespace", ".*").replaceAll("$name", ".*");
    const rules = dashboard.panels.flatMap((p, i) =>
      (p.targets ?? []).map((t, j) => ({
        record: `dashboard:panel${i}:target${j}`,
        expr: substitute(t.expr),
      })),
    );
    expect(rules.length).toBeGreaterThan(20);
    const file = join(dir, "dashboard-rules.yaml");
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    const result = await promtool("check", "rules", file);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});
