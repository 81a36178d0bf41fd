import { describe, expect, it } from "vitest";
import { complete, Directive, formatCompletion, type CompletionSources } from "./complete.ts";

const calls: string[] = [];
const sources: CompletionSources = {
  vms: async (ns, ctx) => {
    calls.push(`vms ${ns ?? "-"} ${ctx ?? "-"}`);
    return ns === "prod" ? ["db", "web"] : ["demo", "web2", "halted"];
  },
  namespaces: async () => ["default", "prod", "vireo-system"],
  contexts: async () => ["dev", "prod-admin"],
};
const failing: CompletionSources = {
  vms: async () => {
    throw new Error("unreachable");
  },
  namespaces: async () => {
    throw new Error("unreachable");
  },
  contexts: async () => [],
};
const names = async (words: string[], s = sources) =>
  (await complete(words, s)).candidates.map((c) => c.split("\t")[0]);

describe("vireo completion", () => {
  it("completes commands with descriptions, files never", async () => {
    const c = await complete(["st"], sources);
    expect(c).toEqual({
      candidates: ["start\tstart a VM", "stop\tstop a VM (runStrategy Halted)", "status\tshow VM status"],
      directive: Directive.NoFileComp,
    });
    expect(await names([""])).toContain("completion");
  });

  it("completes VM names of the namespace and context given on the line, sorted", async () => {
    calls.length = 0;
    expect(await names(["stop", ""])).toEqual(["demo", "halted", "web2"]);
    expect(await names(["stop", "-n", "prod", "w"])).toEqual(["web"]);
    expect(await names(["console", "--namespace=prod", "--context", "prod-admin", ""])).toEqual([
      "db",
      "web",
    ]);
    expect(calls).toEqual(["vms - -", "vms prod -", "vms prod prod-admin"]);
    // One VM per command: nothing after it, and nothing for status -A.
    expect(await names(["stop", "web2", ""])).toEqual([]);
    expect(await names(["status", "-A", ""])).toEqual([]);
  });

  it("completes flag values: namespaces, contexts, output formats; a kubeconfig is a file", async () => {
    expect(await names(["status", "-n", "v"])).toEqual(["vireo-system"]);
    expect(await names(["stop", "--context", ""])).toEqual(["dev", "prod-admin"]);
    expect(await names(["status", "-o", "w"])).toEqual(["wide"]);
    expect(await names(["version", "-o", ""])).toEqual(["json"]);
    expect(await complete(["stop", "--kubeconfig", "/tm"], sources)).toEqual({
      candidates: [],
      directive: Directive.Default,
    });
    expect(await names(["vnc", "--port", ""])).toEqual([]);
  });

  it("completes flags, shells, and manifest files by extension", async () => {
    expect(await names(["status", "--a"])).toEqual(["--all-namespaces"]);
    expect(await names(["doctor", "--op"])).toEqual(["--operator-namespace", "--operator-deployment"]);
    expect(await names(["completion", ""])).toEqual(["bash", "zsh", "fish"]);
    expect(await complete(["validate", "ex"], sources)).toEqual({
      candidates: ["yaml", "yml"],
      directive: Directive.FilterFileExt,
    });
  });

  it("completes create vm, expose vm and soft-reboot", async () => {
    expect(await names(["cr"])).toEqual(["create"]);
    expect(await names(["create", ""])).toEqual(["vm"]);
    expect(await names(["create", "vm", "x", "--volume-"])).toEqual([
      "--volume-containerdisk",
      "--volume-pvc",
      "--volume-blank",
    ]);
    expect(await names(["create", "vm", "x", "--run-strategy", "R"])).toEqual(["RerunOnFailure"]);
    expect((await complete(["create", "vm", "x", "--user-data-file", ""], sources)).directive).toBe(
      Directive.Default,
    );
    expect(await names(["expose", "vm", "-n", "prod", ""])).toEqual(["db", "web"]);
    expect(await names(["expose", "vm", "web", "--type", ""])).toEqual([
      "ClusterIP",
      "NodePort",
      "LoadBalancer",
    ]);
    expect(await names(["expose", "vm", "web", "--t"])).toEqual(["--target-port", "--type"]);
    expect(await names(["start", "web", "--w"])).toEqual(["--wait"]);
    expect(await names(["soft-reboot", "-n", "prod", "w"])).toEqual(["web"]);
  });

  it("completes nothing, without an error, when the cluster cannot be asked", async () => {
    expect(await complete(["stop", ""], failing)).toEqual({
      candidates: [],
      directive: Directive.NoFileComp,
    });
    expect(await names(["stop", "-n", ""], failing)).toEqual([]);
  });

  it("prints cobra's protocol: candidates, then :directive", () => {
    expect(formatCompletion({ candidates: ["a\tdesc", "b"], directive: 4 })).toBe("a\tdesc\nb\n:4\n");
  });
});
