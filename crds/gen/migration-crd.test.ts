import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildMigrationCrd } from "./migration-crd.ts";
import { structuralProblems } from "./structural.ts";
import { MIGRATION_PHASES, migrationSchema } from "../api/migration.ts";
import { vmSpecShape } from "../api/spec.ts";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("VirtualMachineMigration CRD", () => {
  const crd = buildMigrationCrd() as Json;
  const version = crd.spec.versions[0];
  it("equals the checked-in copy, is structural, namespaced, with a status subresource", () => {
    const file = join(import.meta.dirname, "..", "vireo.dev_virtualmachinemigrations.yaml");
    expect(parse(readFileSync(file, "utf8"))).toEqual(crd);
    expect(structuralProblems(version.schema.openAPIV3Schema)).toEqual([]);
    expect(crd.spec.scope).toBe("Namespaced");
    expect(version.subresources).toEqual({ status: {} });
  });
  it("lists every phase in the status enum and prints VM, phase, source and target", () => {
    const status = version.schema.openAPIV3Schema.properties.status;
    expect(status.properties.phase.enum).toEqual([...MIGRATION_PHASES]);
    const cols = (version.additionalPrinterColumns as Json[]).map((c) => c.name);
    expect(cols).toEqual(expect.arrayContaining(["VM", "Phase", "Source", "Target"]));
  });
  it("keeps vmName and targetNode immutable by CEL on the spec", () => {
    const rules = version.schema.openAPIV3Schema.properties.spec["x-kubernetes-validations"] as Json[];
    expect(rules.map((r) => r.rule).join(" ")).toContain("oldSelf.vmName");
  });
});

describe("migration schema", () => {
  const base = { apiVersion: "vireo.dev/v1alpha1", kind: "VirtualMachineMigration", metadata: {} };
  it("accepts a minimal request and refuses unknown fields and a bandwidth under 1 MiB/s", () => {
    expect(migrationSchema.safeParse({ ...base, spec: { vmName: "web" } }).success).toBe(true);
    expect(migrationSchema.safeParse({ ...base, spec: { vmName: "web", node: "x" } }).success).toBe(false);
    const slow = { vmName: "web", settings: { bandwidthBytesPerSecond: 1000 } };
    const r = migrationSchema.safeParse({ ...base, spec: slow });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["spec", "settings", "bandwidthBytesPerSecond"]);
  });
  it("gives the VM spec an optional evictionStrategy of LiveMigrate or None", () => {
    const spec = { memory: { guest: "64Mi" } };
    expect(vmSpecShape.parse(spec).evictionStrategy).toBeUndefined();
    expect(vmSpecShape.parse({ ...spec, evictionStrategy: "LiveMigrate" }).evictionStrategy).toBe(
      "LiveMigrate",
    );
    expect(vmSpecShape.safeParse({ ...spec, evictionStrategy: "External" }).success).toBe(false);
  });
});
