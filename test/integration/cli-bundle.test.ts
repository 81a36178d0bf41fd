// The CLI as one file (scripts/cli/bundle.sh): run from a directory with no node_modules anywhere above it,
// against a real API server, and timed next to the checkout (tsx) and kubectl for the same reads.
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, type TestNamespace } from "../harness/index.ts";
import { binDir } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, installCrd, repoRoot } from "./operator-kit.ts";

const exec = promisify(execFile);

/** Median wall time of `runs` runs of a command, in ms. */
async function median(runs: number, f: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return Math.round(times.sort((a, b) => a - b)[Math.floor(runs / 2)]!);
}

describe("the single-file CLI", () => {
  const cp = useControlPlane();
  let dir: string;
  let bundle: string;
  let ns: TestNamespace;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vireo-bundle-"));
    bundle = (
      await exec("bash", [join(repoRoot, "scripts/cli/bundle.sh"), join(dir, "vireo.mjs")])
    ).stdout.trim();
    await installCrd(cp());
    ns = await createTestNamespace(cp().kubeConfig, "vireo-bundle");
    const cluster = new Cluster(cp().kubeConfig);
    for (const name of ["web", "db"]) await cluster.createVm(ns.name, name, { runStrategy: "Halted" });
  });

  afterAll(async () => {
    if (ns) {
      await new Cluster(cp().kubeConfig).cleanNamespace(ns.name);
      await ns.delete();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => exec(process.execPath, [bundle, ...args], { cwd: dir });

  it("is one executable file with the version baked in", async () => {
    const s = await stat(bundle);
    expect(s.mode & 0o111).not.toBe(0);
    expect(s.size).toBeLessThan(8 << 20);
    expect((await run(["version", "--client"])).stdout.trim()).toBe("Client Version: 0.1.0");
    expect((await run(["--help"])).stdout).toContain("usage: vireo <command>");
  });

  it("runs offline and cluster commands without node_modules", async () => {
    const valid = await run(["validate", join(repoRoot, "examples/halted.yaml")]);
    expect(valid.stdout).toContain("VirtualMachine halted is valid");
    const status = await run(["status", "-n", ns.name, "--kubeconfig", cp().kubeconfigPath]);
    expect(status.stdout.split("\n")[0]).toMatch(/^NAME\s/);
    expect(status.stdout).toMatch(/^db\s/m);
    expect(status.stdout).toMatch(/^web\s/m);
    expect(
      (await run(["__complete", "stop", "-n", ns.name, "--kubeconfig", cp().kubeconfigPath, ""])).stdout,
    ).toBe("db\nweb\n:4\n");
  });

  it("start times next to the checkout and kubectl get", async () => {
    const kubectl = join(binDir(), "kubectl");
    const kc = cp().kubeconfigPath;
    const figures = {
      bundleHelp: await median(3, () => run(["--help"])),
      checkoutHelp: await median(3, () => exec(process.execPath, [join(repoRoot, "bin/vireo.js"), "--help"])),
      bundleStatus: await median(3, () => run(["status", "-n", ns.name, "--kubeconfig", kc])),
      kubectlGet: await median(3, () =>
        exec(kubectl, ["get", "virtualmachines.vireo.dev", "-n", ns.name, "--kubeconfig", kc]),
      ),
    };
    console.log(`vireo start times, median of 3 (ms): ${JSON.stringify(figures)}`);
    // Figures, not a race: tsx's transform cache makes a warm checkout almost as fast on --help.
    expect(figures.bundleHelp).toBeLessThan(3000);
    expect(figures.bundleStatus).toBeLessThan(5000);
  });
});
