import { describe, expect, it } from "vitest";
import { metricValue } from "./cluster.ts";

describe("metricValue", () => {
  const text = [
    "# HELP vireo_operator_workqueue_depth VM keys waiting to be reconciled.",
    "# TYPE vireo_operator_workqueue_depth gauge",
    "vireo_operator_workqueue_depth 3",
    'vireo_operator_reconcile_total{result="success"} 1200',
    'vireo_operator_reconcile_total{result="error"} 2',
    "vireo_operator_reconcile_total_extra 99",
  ].join("\n");
  it("reads a gauge and sums a counter's label sets, not metrics sharing its prefix", () => {
    expect(metricValue(text, "vireo_operator_workqueue_depth")).toBe(3);
    expect(metricValue(text, "vireo_operator_reconcile_total")).toBe(1202);
    expect(metricValue(text, "vireo_operator_missing")).toBeUndefined();
  });
});
