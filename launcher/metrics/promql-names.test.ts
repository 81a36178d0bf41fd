import { describe, expect, it } from "vitest";
import { promqlMetricNames, seriesNames } from "./promql-names.ts";

describe("promqlMetricNames", () => {
  it("finds metric names and skips functions, keywords, labels, strings, ranges and variables", () => {
    const expr =
      'sum by (namespace, le) (rate(vireo_x_bucket{namespace=~"$namespace", name="a b"}[$__rate_interval])) ' +
      "/ on (namespace) group_left (le) vireo_y_total offset 5m > bool 1e3 and time() - vireo:z:rate5m";
    expect(promqlMetricNames(expr)).toEqual(["vireo:z:rate5m", "vireo_x_bucket", "vireo_y_total"]);
  });

  it("reads names in label_replace and histogram_quantile, and subqueries", () => {
    const expr =
      'label_replace(count by (pod) (kube_pod_created{pod=~"x-(.+)"}), "name", "$1", "pod", "x-(.+)") ' +
      "or histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m:1m]))) or absent(up)";
    expect(promqlMetricNames(expr)).toEqual(["h_bucket", "kube_pod_created", "up"]);
  });

  it("finds no names in a pure number or a variable", () => {
    expect(promqlMetricNames("1 + 2.5e-3 * $x")).toEqual([]);
  });
});

describe("seriesNames", () => {
  it("expands histograms and summaries", () => {
    expect(seriesNames({ name: "h", type: "histogram" })).toEqual(["h_bucket", "h_sum", "h_count"]);
    expect(seriesNames({ name: "s", type: "summary" })).toEqual(["s", "s_sum", "s_count"]);
    expect(seriesNames({ name: "c_total", type: "counter" })).toEqual(["c_total"]);
  });
});
