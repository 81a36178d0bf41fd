import { describe, expect, it } from "vitest";
import { ExpositionError, mergeExpositions, parseLabels, relabelExposition } from "./exposition.ts";

const LAUNCHER = `# HELP vireo_vm_info Static facts about the VM.
# TYPE vireo_vm_info gauge
vireo_vm_info{namespace="prod",name="web",machine="q35"} 1
# HELP vireo_vm_network_receive_bytes_total Bytes received.
# TYPE vireo_vm_network_receive_bytes_total counter
vireo_vm_network_receive_bytes_total{namespace="prod",name="web",interface="default"} 1234
# HELP vireo_deviceplugin_devices not ours to send
# TYPE vireo_deviceplugin_devices gauge
vireo_deviceplugin_devices{resource="x"} 5
# HELP vireo_vm_latency_seconds A histogram.
# TYPE vireo_vm_latency_seconds histogram
vireo_vm_latency_seconds_bucket{le="0.1",namespace="prod",name="web"} 1
vireo_vm_latency_seconds_bucket{le="+Inf",namespace="prod",name="web"} 2
vireo_vm_latency_seconds_sum{namespace="prod",name="web"} 0.3
vireo_vm_latency_seconds_count{namespace="prod",name="web"} 2
`;

describe("relabelExposition", () => {
  it("pins namespace and pod to the kubelet's, keeps every other label and value, drops non-VM families", () => {
    const families = relabelExposition(LAUNCHER, { namespace: "prod", pod: "vireo-web-abc" });
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ["vireo_vm_info", "gauge"],
      ["vireo_vm_network_receive_bytes_total", "counter"],
      ["vireo_vm_latency_seconds", "histogram"],
    ]);
    expect(families[0]!.samples).toEqual([
      'vireo_vm_info{namespace="prod",pod="vireo-web-abc",name="web",machine="q35"} 1',
    ]);
    expect(families[2]!.samples).toHaveLength(4);
    expect(families[2]!.samples[1]).toBe(
      'vireo_vm_latency_seconds_bucket{namespace="prod",pod="vireo-web-abc",le="+Inf",name="web"} 2',
    );
  });

  it("overrides a namespace the launcher claims falsely: a pod in A cannot publish series of B", () => {
    const text = '# TYPE vireo_vm_info gauge\nvireo_vm_info{namespace="bank",name="db",pod="x"} 1\n';
    const [f] = relabelExposition(text, { namespace: "attacker", pod: "p" });
    expect(f!.samples).toEqual(['vireo_vm_info{namespace="attacker",pod="p",name="db"} 1']);
  });

  it("keeps escaped quotes, braces and commas inside label values intact", () => {
    const text = 'vireo_vm_x{name="a\\"},b",drive="c\\\\"} 2 1700000000000\n';
    const [f] = relabelExposition(text, { namespace: "n", pod: "p" });
    expect(f!.samples).toEqual([
      'vireo_vm_x{namespace="n",pod="p",name="a\\"},b",drive="c\\\\"} 2 1700000000000',
    ]);
  });

  it.each([
    ['vireo_vm_x{name="unterminated} 1', /bad labels|not a sample/],
    ["vireo_vm_x 1 2 3", /bad value/],
    ['vireo_vm_x{name="a"} one', /bad value/],
    ["# TYPE vireo_vm_x frobnicator", /unknown type/],
    ['vireo_vm_x{9bad="a"} 1', /bad labels/],
    ["vireo_vm_x{} 1\n# TYPE vireo_vm_x gauge", /TYPE of vireo_vm_x after its samples/],
  ])("refuses %j as a whole", (text, message) => {
    expect(() => relabelExposition(text, { namespace: "n", pod: "p" })).toThrow(ExpositionError);
    expect(() => relabelExposition(text, { namespace: "n", pod: "p" })).toThrow(message);
  });

  it("accepts the special values and an exposition without TYPE lines", () => {
    const text = "vireo_vm_a NaN\nvireo_vm_b +Inf\nvireo_vm_c -1.5e-3\n";
    expect(relabelExposition(text, { namespace: "n", pod: "p" }).map((f) => f.samples[0])).toEqual([
      'vireo_vm_a{namespace="n",pod="p"} NaN',
      'vireo_vm_b{namespace="n",pod="p"} +Inf',
      'vireo_vm_c{namespace="n",pod="p"} -1.5e-3',
    ]);
  });
});

describe("parseLabels", () => {
  it("splits pairs and keeps values escaped", () => {
    expect(parseLabels('a="1", b="x\\"y"')).toEqual([
      ["a", "1"],
      ["b", 'x\\"y'],
    ]);
    expect(parseLabels("")).toEqual([]);
    expect(parseLabels('a="1" b="2"')).toBeUndefined();
  });
});

describe("mergeExpositions", () => {
  it("writes one HELP/TYPE per family with every launcher's samples, and drops a family of another type", () => {
    const a = relabelExposition(LAUNCHER, { namespace: "prod", pod: "a" });
    const b = relabelExposition(LAUNCHER.replace(/prod/g, "dev"), { namespace: "dev", pod: "b" });
    const c = relabelExposition("# TYPE vireo_vm_info counter\nvireo_vm_info 1\n", {
      namespace: "x",
      pod: "c",
    });
    const { text, conflicts } = mergeExpositions([a, b, c]);
    expect(conflicts).toBe(1);
    const lines = text.split("\n");
    expect(lines.filter((l) => l === "# TYPE vireo_vm_info gauge")).toHaveLength(1);
    const info = lines.indexOf("# TYPE vireo_vm_info gauge");
    expect(lines.slice(info + 1, info + 3)).toEqual([
      'vireo_vm_info{namespace="prod",pod="a",name="web",machine="q35"} 1',
      'vireo_vm_info{namespace="dev",pod="b",name="web",machine="q35"} 1',
    ]);
    expect(text).not.toContain('namespace="x"');
    expect(mergeExpositions([]).text).toBe("");
  });
});
