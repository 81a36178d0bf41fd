// The krew plugin as a user installs it: scripts/krew/package.sh builds the archive and its manifest, real
// krew (built from the Go module proxy by scripts/chart/tools.sh) installs it from the local archive into a
// scratch KREW_ROOT, and `kubectl vireo` then runs through krew's link, with no checkout on its PATH.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { binDir } from "../harness/index.ts";
import { repoRoot } from "./operator-kit.ts";

const exec = promisify(execFile);

describe("kubectl vireo through krew", () => {
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let archive: string;
  let manifest: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "vireo-krew-"));
    const tools = (await exec("bash", [join(repoRoot, "scripts/chart/tools.sh"), "--print-env"])).stdout;
    const toolPath = /export PATH=(.*):\$PATH/.exec(tools)?.[1] ?? "";
    const out = join(scratch, "release");
    const built = await exec(
      "bash",
      [join(repoRoot, "scripts/krew/package.sh"), out, "--uri", `file://${out}/kubectl-vireo-0.1.0.tar.gz`],
      {
        maxBuffer: 16 << 20,
      },
    );
    [archive, manifest] = built.stdout.trim().split("\n") as [string, string];
    // Only krew's own bin directory, kubectl, krew and node: nothing from this checkout.
    env = {
      HOME: scratch,
      KREW_ROOT: join(scratch, "krew"),
      PATH: [
        join(scratch, "krew/bin"),
        toolPath,
        binDir(),
        join(process.execPath, ".."),
        "/usr/bin",
        "/bin",
      ].join(":"),
    };
    // krew's list/uninstall want its plugin index, a git clone of krew-index; this machine cannot reach it,
    // so an empty local one stands in (install --manifest --archive needs no index at all).
    await exec("mkdir", ["-p", join(scratch, "krew/index/default/plugins")]);
    await exec("git", ["-C", join(scratch, "krew/index/default"), "init", "-q"], { env });
    await exec("kubectl", ["krew", "install", "--manifest", manifest, "--archive", archive], { env });
  }, 300_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("builds a manifest krew accepts, for the archive it hashes", async () => {
    const m = parse(await readFile(manifest, "utf8")) as {
      spec: { version: string; platforms: Array<{ sha256: string }> };
    };
    expect(m.spec.version).toBe("v0.1.0");
    const sha = (await exec("sha256sum", [archive])).stdout.split(" ")[0];
    expect(m.spec.platforms[0]?.sha256).toBe(sha);
  });

  it("installs and runs: kubectl plugin list, version, validate", async () => {
    const list = await exec("kubectl", ["krew", "list"], { env });
    // A plugin installed from a manifest rather than an index is "detached".
    expect(list.stdout).toMatch(/^detached\/vireo$/m);
    expect((await exec("kubectl", ["vireo", "version", "--client"], { env })).stdout.trim()).toBe(
      "Client Version: 0.1.0",
    );
    const valid = await exec("kubectl", ["vireo", "validate", join(repoRoot, "examples/halted.yaml")], {
      env,
    });
    expect(valid.stdout).toContain("VirtualMachine halted is valid");
  });

  it("uninstalls cleanly", async () => {
    await exec("kubectl", ["krew", "uninstall", "vireo"], { env });
    await expect(exec("kubectl", ["vireo", "version", "--client"], { env })).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown command "vireo"'),
    });
  });
});
