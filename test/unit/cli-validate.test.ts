import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "vireo-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(...files: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vireo.js"), "validate", ...files], {
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function file(name: string, text: string) {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe("vireo validate", () => {
  it("accepts every example and exits 0 without alarming output", () => {
    const examples = readdirSync(join(root, "examples"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => join(root, "examples", f));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    const r = validate(...examples);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/error|invalid/i);
  });

  it("skips other groups' resources beside a VM, and still checks the VM", () => {
    const p = file(
      "with-pvc.yaml",
      "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: root}\n---\n" +
        "apiVersion: vireo.dev/v1alpha1\nkind: VirtualMachine\nmetadata: {name: ok}\nspec: {memory: {guest: 1Gi}}\n",
    );
    const r = validate(p);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${p}#1: skipped PersistentVolumeClaim (v1): not a Vireo resource`);
    expect(r.out).toContain(`${p}#2: VirtualMachine ok is valid`);
  });

  it("prints path: message for each problem in multi-document YAML and exits 1", () => {
    const p = file(
      "multi.yaml",
      `apiVersion: vireo.dev/v1alpha1
kind: VirtualMachine
metadata: {name: good}
spec: {memory: {guest: 1Gi}}
---
apiVersion: vireo.dev/v1alpha1
kind: VirtualMachine
metadata: {name: bad}
spec:
  memory: {guest: 1Gi}
  disks: [{name: root}]
  colour: blue
---
`,
    );
    const r = validate(p);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${p}#1: VirtualMachine good is valid`);
    expect(r.err).toContain(`${p}#2: spec.colour: unknown field`);
    expect(r.err).toContain(`${p}#2: spec.disks[0].name: disk "root" has no volume of the same name`);
  });

  it("explains malformed YAML, wrong apiVersion/kind and unreadable files without a stack trace", () => {
    const r = validate(
      file("broken.yaml", "spec: [\n"),
      file("kind.yaml", "apiVersion: vireo.dev/v1\nkind: VM\nspec: {memory: {guest: 1Gi}}\n"),
      file("other.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\n"),
      join(dir, "missing.yaml"),
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken\.yaml: line \d+, column \d+: malformed YAML/);
    expect(r.err).toContain("kind.yaml: apiVersion: apiVersion must be vireo.dev/v1alpha1");
    expect(r.err).toContain("kind.yaml: kind: kind must be VirtualMachine");
    expect(r.err).toContain("missing.yaml: cannot read: no such file");
    expect(r.err).toContain("other.yaml: no VirtualMachine in this file");
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
