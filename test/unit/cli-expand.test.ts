import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "vireo-expand-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vireo(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vireo.js"), ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function file(name: string, text: string) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const vm = (spec: string) =>
  `apiVersion: vireo.dev/v1alpha1\nkind: VirtualMachine\nmetadata: {name: web}\nspec:\n${spec}` +
  "  disks: [{name: root}]\n  volumes: [{name: root, containerDisk: {image: example/os}}]\n";
const it8 =
  "apiVersion: vireo.dev/v1alpha1\nkind: VirtualMachineInstancetype\nmetadata: {name: big}\n" +
  "spec: {cpu: {guest: 8}, memory: {guest: 8Gi, hugepages: {pageSize: 2Mi}}}\n";

describe("vireo expand -f (offline)", () => {
  it("expands a VM with an instancetype from another file and a shipped preference", () => {
    const v = file(
      "vm.yaml",
      vm(
        "  instancetype: {kind: VirtualMachineInstancetype, name: big}\n  preference: {name: windows.2k22}\n",
      ),
    );
    const r = vireo("expand", "-f", v, "-f", file("it.yaml", it8));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const out = parse(r.out) as { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(out.spec.cpu).toEqual({ sockets: 8, cores: 1, threads: 1, model: "host-model" });
    expect(out.spec.memory).toEqual({ guest: "8Gi", hugepages: { pageSize: "2Mi" } });
    expect(out.spec.disks[0].bus).toBe("sata");
    expect(out.spec.firmware).toEqual({ uefi: { secureBoot: true } });
  });

  it("prints the example with the shipped set, as JSON too", () => {
    const r = vireo("expand", "-o", "json", "-f", join(root, "examples/vm-instancetype.yaml"));
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { spec: { memory: unknown } }).spec.memory).toEqual({ guest: "2Gi" });
  });

  it("exits 1 naming the conflicting field, and 2 on usage", () => {
    const r = vireo(
      "expand",
      "-f",
      file("conflict.yaml", vm("  instancetype: {name: u1.small}\n  memory: {guest: 1Gi}\n")),
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /conflict\.yaml: spec\.memory: memory is set by the instancetype u1\.small; remove spec\.memory/,
    );
    expect(vireo("expand").code).toBe(2);
  });
});

describe("vireo validate with instancetypes", () => {
  it("checks the instancetype and the VM it sizes, across files", () => {
    const r = vireo(
      "validate",
      file("vm2.yaml", vm("  instancetype: {kind: VirtualMachineInstancetype, name: big}\n")),
      file("it2.yaml", it8),
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/VirtualMachineInstancetype big is valid/);
    expect(r.out).toMatch(/VirtualMachine web is valid/);
  });

  it("refuses an unknown instancetype, a bad one, and a preference's unmet minimum, with paths", () => {
    const unknown = vireo("validate", file("u.yaml", vm("  instancetype: {name: u1.enormous}\n")));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(
      /spec\.instancetype\.name: VirtualMachineClusterInstancetype u1\.enormous is not in the given files/,
    );
    const bad = vireo("validate", file("bad-it.yaml", it8.replace("guest: 8}", "guest: 0}")));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/spec\.cpu\.guest: cpu\.guest must be at least 1/);
    const small = vireo(
      "validate",
      file("small.yaml", vm("  instancetype: {name: u1.nano}\n  preference: {name: windows.11}\n")),
    );
    expect(small.code).toBe(1);
    expect(small.err).toMatch(
      /spec\.instancetype\.name: the preference windows\.11 needs at least 2 vCPUs; the instancetype u1\.nano gives 1/,
    );
  });
});
