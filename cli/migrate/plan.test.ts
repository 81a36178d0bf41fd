import { describe, expect, it } from "vitest";
import type { VirtualMachineMigration } from "../../crds/api/migration.ts";
import { migrationSchema } from "../../crds/api/migration.ts";
import { migrationFor, migrationToCancel } from "./plan.ts";

const m = (name: string, vmName: string, phase?: string): VirtualMachineMigration =>
  ({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachineMigration",
    metadata: { name },
    spec: { vmName },
    ...(phase ? { status: { phase } } : {}),
  }) as VirtualMachineMigration;

describe("vireo migrate plan", () => {
  it("makes a valid migration for the VM, with the node when given", () => {
    const a = migrationFor("web", "ns", "node-2");
    expect(migrationSchema.parse(a).spec).toEqual({ vmName: "web", targetNode: "node-2" });
    expect(a.metadata).toMatchObject({ generateName: "web-migration-", namespace: "ns" });
    expect(migrationFor("web", "ns").spec).toEqual({ vmName: "web" });
  });
  it("cancels the VM's one migration in progress, and says so when there is none or two", () => {
    const list = [m("old", "web", "Succeeded"), m("cur", "web", "Running"), m("other", "db", "Running")];
    expect(migrationToCancel("web", list).metadata.name).toBe("cur");
    expect(migrationToCancel("web", [m("new", "web")]).metadata.name).toBe("new"); // no status yet
    expect(() => migrationToCancel("web", [m("old", "web", "Failed")])).toThrow(/no migration in progress/);
    expect(() => migrationToCancel("web", [m("a", "web"), m("b", "web", "Scheduling")])).toThrow(
      /2 migrations/,
    );
  });
});
