import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildVirtualMachineCrd, CRD_FILE } from "./crd.ts";
import { structuralProblems } from "./structural.ts";
import { toStructural } from "./openapi.ts";

const root = join(import.meta.dirname, "..", "..");
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("generated CRD", () => {
  const crd = buildVirtualMachineCrd() as Json;
  const version = crd.spec.versions[0];
  const schema = version.schema.openAPIV3Schema;

  it("equals the checked-in crds/ copy (run `npm run gen` when this fails)", () => {
    const checkedIn = parse(readFileSync(join(root, "crds", CRD_FILE), "utf8"));
    expect(checkedIn).toEqual(crd);
  });

  it("is structural", () => {
    expect(structuralProblems(schema)).toEqual([]);
  });

  it("has the status subresource, printer columns and non-clashing names", () => {
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c: Json) => c.name)).toEqual(
      expect.arrayContaining(["Status", "Ready", "Node", "IP", "Age"]),
    );
    for (const taken of ["vm", "vms", "vmi", "vmis"]) expect(crd.spec.names.shortNames).not.toContain(taken);
  });

  it("carries the cross-field rules as CEL with messages", () => {
    const rules = schema.properties.spec["x-kubernetes-validations"] as Json[];
    expect(rules.map((r) => r.message)).toContain("every disk needs a volume of the same name");
    const volumeRules = schema.properties.spec.properties.volumes.items["x-kubernetes-validations"] as Json[];
    expect(volumeRules[0]?.rule).toContain(".filter(x, x).size() == 1");
    expect(schema.properties.spec.properties.disks["x-kubernetes-list-type"]).toBe("map");
  });

  it("applies defaults server-side the same way zod does", () => {
    const spec = schema.properties.spec.properties;
    expect(spec.runStrategy.default).toBe("Always");
    expect(spec.cpu.properties.model.default).toBe("host-model");
    expect(spec.terminationGracePeriodSeconds.default).toBe(180);
  });
});

describe("structural checks catch what a careless generator would emit", () => {
  it("flags unions, missing types and bad list-map keys", () => {
    expect(structuralProblems({ type: "object", properties: { a: { anyOf: [] } } })).toEqual([
      "$.a: missing type",
      "$.a: anyOf is not allowed here",
    ]);
    expect(
      structuralProblems({
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: { type: "object", properties: { name: { type: "string" } } },
      }),
    ).toEqual(["$: list-map key name must be required or have a default"]);
  });

  it("toStructural refuses unions instead of emitting them", () => {
    expect(() => toStructural({ anyOf: [{ type: "string" }] })).toThrow(/not allowed in a structural schema/);
  });
});

describe("object defaults", () => {
  it("are expanded with nested defaults, because the API server checks CEL rules against the default as written", () => {
    const crd = buildVirtualMachineCrd() as Json;
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    expect(spec.cpu.default).toEqual({ sockets: 1, cores: 1, threads: 1, model: "host-model" });
    expect(spec.devices.default).toEqual({ serialConsole: true, vnc: false, rng: true, memoryBalloon: true });
  });
});
