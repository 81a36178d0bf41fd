import { describe, expect, it } from "vitest";
import { BenchArgsError, parseBenchArgs } from "./args.ts";

describe("bench arguments", () => {
  it("defaults to every section at full size with the compiled build", () => {
    const a = parseBenchArgs([]);
    expect(a.sections).toEqual(["overhead", "start", "scale", "churn"]);
    expect(a).toMatchObject({ quick: false, dist: true, build: true, kvm: "auto", startRuns: 20 });
    expect(a).toMatchObject({
      scaleVms: 1000,
      holdVms: 5000,
      concurrency: 32,
      churnVms: 100,
      churnSeconds: 60,
    });
  });

  it("selects sections in run order and shrinks counts with --quick", () => {
    const a = parseBenchArgs(["churn", "overhead", "--quick", "--vms", "50", "--no-kvm", "--tsx"]);
    expect(a.sections).toEqual(["overhead", "churn"]);
    expect(a).toMatchObject({
      quick: true,
      scaleVms: 50,
      holdVms: 300,
      startRuns: 3,
      kvm: false,
      dist: false,
    });
  });

  it("splits launcher node flags", () => {
    expect(
      parseBenchArgs(["--launcher-node-args", " --max-semi-space-size=1  --jitless"]).launcherNodeArgs,
    ).toEqual(["--max-semi-space-size=1", "--jitless"]);
  });

  it("refuses unknown sections, flags and bad numbers", () => {
    expect(() => parseBenchArgs(["speed"])).toThrow(BenchArgsError);
    expect(() => parseBenchArgs(["--fast"])).toThrow(BenchArgsError);
    expect(() => parseBenchArgs(["--vms", "many"])).toThrow(/--vms must be a whole number/);
  });
});
