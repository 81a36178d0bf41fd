/**
 * The instancetypes the chart ships, named as KubeVirt's common-instancetypes are (series.size). One source:
 * `npm run gen` writes them into the chart, and `vireo validate` / `vireo expand` know them offline.
 */
import type { z } from "zod";
import type { instancetypeSpecSchema } from "./instancetype.ts";

/** One shipped instancetype: its name, what it is for, and its spec as written. */
export interface CommonInstancetype {
  name: string;
  description: string;
  spec: z.input<typeof instancetypeSpecSchema>;
}

const size = (
  series: string,
  name: string,
  cpus: number,
  memory: string,
  extra: Partial<CommonInstancetype["spec"]["memory"]> = {},
) => ({
  name: `${series}.${name}`,
  description: `${cpus} vCPU${cpus > 1 ? "s" : ""}, ${memory} memory`,
  spec: { cpu: { guest: cpus }, memory: { guest: memory, ...extra } },
});

/**
 * u1 (universal, 1:4 vCPU to GiB past the smallest sizes), m1 (memory-heavy, 1:8, hugepage-backed) and cx1
 * (compute-exclusive, 1:2: dedicated CPUs, an isolated emulator thread, guest NUMA passthrough, 2Mi hugepages),
 * as KubeVirt defines them.
 */
export const COMMON_INSTANCETYPES: CommonInstancetype[] = [
  size("u1", "nano", 1, "512Mi"),
  size("u1", "micro", 1, "1Gi"),
  size("u1", "small", 1, "2Gi"),
  size("u1", "medium", 1, "4Gi"),
  size("u1", "2xmedium", 2, "4Gi"),
  size("u1", "large", 2, "8Gi"),
  size("u1", "xlarge", 4, "16Gi"),
  size("u1", "2xlarge", 8, "32Gi"),
  size("m1", "large", 2, "16Gi", { hugepages: { pageSize: "2Mi" } }),
  size("m1", "xlarge", 4, "32Gi", { hugepages: { pageSize: "2Mi" } }),
  size("m1", "2xlarge", 8, "64Gi", { hugepages: { pageSize: "2Mi" } }),
  ...(
    [
      ["medium", 1, "2Gi"],
      ["large", 2, "4Gi"],
      ["xlarge", 4, "8Gi"],
      ["2xlarge", 8, "16Gi"],
    ] as const
  ).map(([name, cpus, memory]) => {
    const it = size("cx1", name, cpus, memory, { hugepages: { pageSize: "2Mi" } });
    const dedicated = {
      dedicatedCPUPlacement: true,
      isolateEmulatorThread: true,
      numa: { guestMappingPassthrough: {} },
    };
    return { ...it, spec: { ...it.spec, cpu: { ...it.spec.cpu, ...dedicated } } };
  }),
];
