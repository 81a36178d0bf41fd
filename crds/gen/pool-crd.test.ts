import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildPoolCrd } from "./pool-crd.ts";
import { structuralProblems } from "./structural.ts";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("VirtualMachinePool CRD", () => {
  const crd = buildPoolCrd() as Json;
  const version = crd.spec.versions[0];
  it("equals the checked-in copy and is structural", () => {
    const file = join(import.meta.dirname, "..", "vireo.dev_virtualmachinepools.yaml");
    expect(parse(readFileSync(file, "utf8"))).toEqual(crd);
    expect(structuralProblems(version.schema.openAPIV3Schema)).toEqual([]);
  });
  it("has a scale subresource the HPA and kubectl scale can use", () => {
    expect(version.subresources.scale).toEqual({
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.labelSelector",
    });
  });
  it("carries the VM spec's CEL rules in the template", () => {
    const tspec =
      version.schema.openAPIV3Schema.properties.spec.properties.virtualMachineTemplate.properties.spec;
    expect((tspec["x-kubernetes-validations"] as Json[]).map((r) => r.message)).toContain(
      "memory is required unless an instancetype gives it",
    );
  });
});
