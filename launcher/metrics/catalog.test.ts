import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VM_LABELS, VM_METRICS } from "./catalog.ts";

const DOC = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");

describe("the metric catalog", () => {
  it("follows Prometheus naming: prefix, snake case, _total on counters only, unit suffixes", () => {
    const names = VM_METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of VM_METRICS) {
      expect(m.name).toMatch(/^vireo_vm_[a-z0-9_]+$/);
      expect(m.name.endsWith("_total"), m.name).toBe(m.type === "counter");
      const base = m.name.replace(/_total$/, "");
      if (m.unit === "seconds") expect(base, m.name).toMatch(/_seconds$/);
      if (m.unit === "bytes") expect(base, m.name).toMatch(/_bytes$/);
      if (m.unit === "") expect(base, m.name).not.toMatch(/_(seconds|bytes)$/);
      expect(m.help.length, m.name).toBeGreaterThan(10);
      for (const label of m.labels) {
        expect(label).toMatch(/^[a-z][a-z_]*$/);
        expect(VM_LABELS).not.toContain(label);
      }
    }
  });

  it("names a KubeVirt equivalent that exists in KubeVirt's naming", () => {
    for (const m of VM_METRICS) if (m.kubevirt) expect(m.kubevirt, m.name).toMatch(/^kubevirt_vmi_\w+/);
  });

  it("is documented in docs/metrics.md, and the page names no metric the code lacks", () => {
    for (const m of VM_METRICS) expect(DOC, m.name).toContain(`| \`${m.name}\` | ${m.type} |`);
    // `vireo_vm_network_receive_*` stands for a family, not a metric.
    const documented = new Set(DOC.match(/vireo_vm_[a-z0-9_]+(?![a-z0-9_*])/g));
    const defined = new Set(VM_METRICS.map((m) => m.name));
    for (const name of documented) expect(defined.has(name), `docs/metrics.md names ${name}`).toBe(true);
  });
});
