import { describe, expect, it } from "vitest";
import {
  formatCpuList,
  numaMemory,
  numaPlan,
  parseCpuList,
  pinningPlan,
  PinningError,
  threadPins,
} from "./pinning.ts";

describe("dedicated CPU placement", () => {
  it("reads and writes kernel CPU lists", () => {
    expect(parseCpuList("0-2,5,7-8\n")).toEqual([0, 1, 2, 5, 7, 8]);
    expect(formatCpuList([8, 0, 1, 2, 5, 7])).toBe("0-2,5,7-8");
    expect(() => parseCpuList("0-a")).toThrow(PinningError);
  });

  it("gives vCPU i the i-th CPU and an isolated emulator the next", () => {
    expect(pinningPlan([5, 3, 4, 6], 2, false)).toEqual({ vcpuCpus: [3, 4], emulatorCpus: [3, 4] });
    expect(pinningPlan([5, 3, 4, 6], 2, true)).toEqual({ vcpuCpus: [3, 4], emulatorCpus: [5] });
  });

  it("refuses a cpuset too small, counting the emulator CPU", () => {
    expect(() => pinningPlan([0, 1], 2, true)).toThrow(/need 3 CPUs/);
    try {
      pinningPlan([0], 2, false);
    } catch (err) {
      expect((err as PinningError).code).toBe("CPUSET_TOO_SMALL");
    }
  });

  it("mirrors the host nodes of the pinned CPUs as guest nodes", () => {
    const nodeOf = new Map([
      [0, 0],
      [1, 0],
      [8, 1],
      [9, 1],
    ]);
    expect(numaPlan([0, 8, 1, 9], nodeOf)).toEqual([
      { hostNode: 0, vcpus: [0, 2] },
      { hostNode: 1, vcpus: [1, 3] },
    ]);
    expect(numaPlan([0, 1], new Map())).toEqual([{ hostNode: 0, vcpus: [0, 1] }]);
  });

  it("splits memory in whole pages by vCPU share", () => {
    const nodes = [
      { hostNode: 0, vcpus: [0] },
      { hostNode: 1, vcpus: [1, 2] },
    ];
    expect(numaMemory(6 * 2 ** 21, 2 ** 21, nodes)).toEqual([2 * 2 ** 21, 4 * 2 ** 21]);
    expect(numaMemory(7 * 2 ** 21, 2 ** 21, nodes).reduce((a, b) => a + b)).toBe(7 * 2 ** 21);
  });

  it("pins each vCPU thread to its CPU and every other thread to the emulator CPUs", () => {
    const plan = { vcpuCpus: [2, 3], emulatorCpus: [4] };
    const vcpus = [
      { "cpu-index": 1, "thread-id": 102 },
      { "cpu-index": 0, "thread-id": 101 },
    ];
    expect(threadPins(plan, vcpus, [100, 101, 102, 103])).toEqual([
      { tid: 101, cpus: [2], role: "vcpu" },
      { tid: 102, cpus: [3], role: "vcpu" },
      { tid: 100, cpus: [4], role: "emulator" },
      { tid: 103, cpus: [4], role: "emulator" },
    ]);
  });

  it("refuses when vCPUs share a thread (single-threaded TCG)", () => {
    const shared = [
      { "cpu-index": 0, "thread-id": 7 },
      { "cpu-index": 1, "thread-id": 7 },
    ];
    expect(() => threadPins({ vcpuCpus: [0, 1], emulatorCpus: [0, 1] }, shared, [7])).toThrow(
      /one thread per vCPU/,
    );
  });
});
