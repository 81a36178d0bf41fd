// @vireo/api as a user gets it: `npm pack` in packages/api (its prepack builds JS and .d.ts), the tarball
// installed into a fresh directory with npm (zod from npm's cache or the machine's registry), then imported
// from plain JavaScript and type-checked from a strict TypeScript consumer with NodeNext resolution. And its
// reference renders with TypeDoc, which refuses an exported symbol without a doc comment.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./operator-kit.ts";

const exec = promisify(execFile);
const pkgDir = join(repoRoot, "packages/api");
const tsc = join(repoRoot, "node_modules/.bin/tsc");

describe("@vireo/api from a packed tarball", () => {
  let scratch: string;
  let consumer: string;
  let files: string[];

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "vireo-sdk-"));
    const packed = await exec("npm", ["pack", "--json", "--pack-destination", scratch], {
      cwd: pkgDir,
      maxBuffer: 16 << 20,
    });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    files = info[0]!.files.map((f) => f.path);
    consumer = join(scratch, "consumer");
    await exec("mkdir", ["-p", consumer]);
    await writeFile(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    await exec(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", join(scratch, info[0]!.filename)],
      { cwd: consumer, maxBuffer: 16 << 20 },
    );
  }, 240_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("ships JS and declarations only: no tests, no test fixtures, no sources", () => {
    expect(files).toContain("dist/packages/api/index.js");
    expect(files).toContain("dist/packages/api/index.d.ts");
    expect(files).toContain("dist/crds/api/validate.d.ts");
    expect(files.filter((f) => /\.test\.|testing\/|\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.every((f) => f === "package.json" || f === "README.md" || f.startsWith("dist/"))).toBe(true);
  });

  it("installs with zod as its only dependency", async () => {
    const modules = (await readdir(join(consumer, "node_modules"), { withFileTypes: true }))
      .map((d) => d.name)
      .sort();
    expect(modules).toEqual(expect.arrayContaining(["@vireo", "zod"]));
    expect(modules.filter((m) => !m.startsWith("."))).toEqual(["@vireo", "zod"]);
  });

  it("imports from JavaScript: builder with defaults, validation with field paths", async () => {
    await writeFile(
      join(consumer, "use.mjs"),
      `import { virtualMachine, validateVirtualMachine, InvalidVirtualMachineError, API_VERSION, specDefaults } from "@vireo/api";
const vm = virtualMachine({ name: "web", namespace: "prod" }, {
  memory: { guest: "2Gi" },
  disks: [{ name: "root", bootOrder: 1 }],
  volumes: [{ name: "root", persistentVolumeClaim: { claimName: "web-root" } }],
});
const bad = validateVirtualMachine({ apiVersion: API_VERSION, kind: "VirtualMachine", metadata: { name: "x" },
  spec: { memory: { guest: "1Gi" }, disks: [{ name: "data" }] } });
let thrown;
try { virtualMachine({ name: "Bad_Name" }, { memory: { guest: "8" } }); } catch (e) { thrown = e; }
console.log(JSON.stringify({
  apiVersion: vm.apiVersion, runStrategy: vm.spec.runStrategy, interfaces: vm.spec.interfaces,
  ok: bad.ok, problems: bad.ok ? [] : bad.problems,
  thrown: thrown instanceof InvalidVirtualMachineError, paths: thrown.problems.map((p) => p.path),
  grace: specDefaults().terminationGracePeriodSeconds,
}));
`,
    );
    const { stdout } = await exec(process.execPath, ["use.mjs"], { cwd: consumer });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      apiVersion: "vireo.dev/v1alpha1",
      runStrategy: "Always",
      interfaces: [{ name: "default", model: "virtio" }],
      ok: false,
      problems: [{ path: "spec.disks[0].name", message: 'disk "data" has no volume of the same name' }],
      thrown: true,
      grace: 180,
    });
    expect(out["paths"]).toEqual(expect.arrayContaining(["metadata.name", "spec.memory.guest"]));
  });

  it("type-checks a strict TypeScript consumer (NodeNext, skipLibCheck off) and catches a wrong field", async () => {
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ["good.ts"],
      }),
    );
    await writeFile(
      join(consumer, "good.ts"),
      `import { virtualMachine, type VirtualMachine, type VmSpecInput, RUN_STRATEGIES } from "@vireo/api";
const spec: VmSpecInput = { runStrategy: "Halted", memory: { guest: "1Gi" } };
const vm: VirtualMachine = virtualMachine({ name: "web" }, spec);
const strategy: (typeof RUN_STRATEGIES)[number] = vm.spec.runStrategy;
export { strategy };
`,
    );
    await exec(tsc, ["-p", "."], { cwd: consumer });
    await writeFile(
      join(consumer, "good.ts"),
      `import type { VmSpecInput } from "@vireo/api";
export const spec: VmSpecInput = { runStrategy: "Sometimes", memory: { guest: "1Gi" } };
`,
    );
    const bad = await exec(tsc, ["-p", "."], { cwd: consumer }).then(
      () => "",
      (e: { stdout: string }) => e.stdout,
    );
    expect(bad).toMatch(/good\.ts\(2,.*error TS2322: Type '"Sometimes"' is not assignable/);
  });

  it("renders the API reference with TypeDoc, every export documented (warnings are errors)", async () => {
    const out = join(scratch, "docs");
    const { stdout } = await exec("bash", [join(pkgDir, "docs.sh"), out], { maxBuffer: 16 << 20 });
    expect(stdout.trim()).toBe(join(out, "index.html"));
    const fns = await readdir(join(out, "functions"));
    expect(fns).toEqual(expect.arrayContaining(["validateVirtualMachine.html", "virtualMachine.html"]));
  }, 240_000);
});
