import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildInstancetypeCrds } from "./instancetype-crds.ts";
import { structuralProblems } from "./structural.ts";

const root = join(import.meta.dirname, "..", "..");
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("instancetype and preference CRDs", () => {
  const crds = buildInstancetypeCrds();

  it("are four: namespaced and cluster kinds of each", () => {
    expect(Object.values(crds).map((c) => [(c as Json).spec.names.kind, (c as Json).spec.scope])).toEqual([
      ["VirtualMachineInstancetype", "Namespaced"],
      ["VirtualMachineClusterInstancetype", "Cluster"],
      ["VirtualMachinePreference", "Namespaced"],
      ["VirtualMachineClusterPreference", "Cluster"],
    ]);
  });

  it.each(Object.entries(crds))("%s equals the checked-in copy and is structural", (file, crd) => {
    expect(parse(readFileSync(join(root, "crds", file), "utf8"))).toEqual(crd);
    const schema = (crd as Json).spec.versions[0].schema.openAPIV3Schema;
    expect(structuralProblems(schema)).toEqual([]);
  });

  it("requires the instancetype's cpu.guest and memory.guest", () => {
    const spec = (Object.values(crds)[0] as Json).spec.versions[0].schema.openAPIV3Schema.properties.spec;
    expect(spec.required).toEqual(["cpu", "memory"]);
    expect(spec.properties.cpu.required).toEqual(["guest"]);
    expect(spec.properties.memory.required).toEqual(["guest"]);
  });
});
