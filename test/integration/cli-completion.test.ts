// Shell completion for real: bash sources `vireo completion bash` and completes through `vireo __complete`,
// VM and namespace names come from a real kube-apiserver, and `kubectl_complete-vireo` (what kubectl ≥ 1.26
// runs for plugins) answers in cobra's protocol; fish completes through the same protocol (complete -C), and
// the zsh script is syntax-checked (zsh completion needs an interactive shell to drive).
import { execFile } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestNamespace, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { Cluster, installCrd, repoRoot } from "./operator-kit.ts";

const exec = promisify(execFile);

describe("vireo completion", () => {
  const cp = useControlPlane();
  let ns: TestNamespace;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  /** COMPREPLY after bash completes `line` (the cursor at its end). */
  const bashComplete = async (line: string) => {
    const words = line.split(" ");
    const script = `source <(vireo completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_vireo_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
    await writeFile(join(dir, "complete.sh"), script);
    const { stdout } = await exec("bash", [join(dir, "complete.sh")], { env });
    return stdout.split("\n").filter((l) => l !== "");
  };

  beforeAll(async () => {
    await installCrd(cp());
    ns = await createTestNamespace(cp().kubeConfig, "vireo-complete");
    const cluster = new Cluster(cp().kubeConfig);
    for (const name of ["web", "worker", "db"])
      await cluster.createVm(ns.name, name, { runStrategy: "Halted" });
    dir = await mkdtemp(join(tmpdir(), "vireo-completion-"));
    await symlink(join(repoRoot, "bin/vireo.js"), join(dir, "vireo"));
    await symlink(join(repoRoot, "bin/kubectl_complete-vireo.js"), join(dir, "kubectl_complete-vireo"));
    env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, KUBECONFIG: cp().kubeconfigPath };
  });

  afterAll(async () => {
    if (ns) {
      await new Cluster(cp().kubeConfig).cleanNamespace(ns.name);
      await ns.delete();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("bash completes commands, flags and flag values", async () => {
    expect(await bashComplete("vireo st")).toEqual(["start", "stop", "status"]);
    expect(await bashComplete("vireo status --all")).toEqual(["--all-namespaces"]);
    expect(await bashComplete("vireo status -o y")).toEqual(["yaml"]);
  });

  it("bash completes VM names and namespaces from the cluster", async () => {
    expect(await bashComplete(`vireo stop -n ${ns.name} w`)).toEqual(["web", "worker"]);
    expect(await bashComplete(`vireo console -n ${ns.name} `)).toEqual(["db", "web", "worker"]);
    expect(await bashComplete("vireo status -n vireo-compl")).toEqual([ns.name]);
  });

  it("bash completes manifests by extension for validate", async () => {
    const files = join(dir, "manifests");
    await exec("mkdir", ["-p", files]);
    for (const f of ["vm.yaml", "vm.yml", "notes.txt"]) await writeFile(join(files, f), "");
    expect((await bashComplete(`vireo validate ${files}/`)).sort()).toEqual([
      `${files}/vm.yaml`,
      `${files}/vm.yml`,
    ]);
  });

  it("kubectl_complete-vireo answers kubectl in cobra's __complete protocol", async () => {
    const { stdout } = await exec("kubectl_complete-vireo", ["stop", "-n", ns.name, ""], { env });
    expect(stdout).toBe("db\nweb\nworker\n:4\n");
  });

  it("completes nothing, quickly and quietly, when the cluster is unreachable", async () => {
    const started = Date.now();
    const { stdout, stderr } = await exec(join(repoRoot, "bin/vireo.js"), ["__complete", "stop", ""], {
      env: { ...env, KUBECONFIG: join(dir, "missing.kubeconfig") },
    });
    expect(stdout).toBe(":4\n");
    expect(stderr).toBe("");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("fish completes through the same protocol: commands, VM names, manifests", async () => {
    await writeFile(
      join(dir, "c.fish"),
      (await exec(join(repoRoot, "bin/vireo.js"), ["completion", "fish"])).stdout,
    );
    const fish = async (line: string, cwd?: string) =>
      (
        await exec("fish", ["-c", `source ${join(dir, "c.fish")}; complete -C "${line}"`], { env, cwd })
      ).stdout
        .split("\n")
        .filter((l) => l !== "");
    expect(await fish("vireo st")).toEqual([
      "start\tstart a VM",
      "status\tshow VM status",
      "stop\tstop a VM (runStrategy Halted)",
    ]);
    expect(await fish(`vireo stop -n ${ns.name} w`)).toEqual(["web", "worker"]);
    expect(await fish("vireo validate h", join(repoRoot, "examples"))).toEqual(["halted.yaml"]);
  });

  it("the zsh script parses (zsh -n)", async () => {
    await writeFile(
      join(dir, "c.zsh"),
      (await exec(join(repoRoot, "bin/vireo.js"), ["completion", "zsh"])).stdout,
    );
    await exec("zsh", ["-n", join(dir, "c.zsh")]);
  });
});
