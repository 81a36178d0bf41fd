import { describe, expect, it } from "vitest";
import { commandUsage, parseClusterArgs } from "./args.ts";
import { ClusterCliError } from "./errors.ts";

describe("parseClusterArgs", () => {
  it("reads kubectl-style flags in any order", () => {
    const a = parseClusterArgs("stop", ["web", "-n", "prod", "--context=staging", "--kubeconfig", "/k"]);
    expect(a).toMatchObject({
      command: "stop",
      vm: "web",
      namespace: "prod",
      context: "staging",
      kubeconfig: "/k",
      help: false,
    });
    expect(parseClusterArgs("start", ["--namespace=dev", "db"]).namespace).toBe("dev");
  });

  it("lets status list (no VM), list all namespaces, and pick an output format", () => {
    expect(parseClusterArgs("status", [])).toMatchObject({
      vm: undefined,
      allNamespaces: false,
      output: "table",
    });
    expect(parseClusterArgs("status", ["-A", "-o", "wide"])).toMatchObject({
      allNamespaces: true,
      output: "wide",
    });
    expect(parseClusterArgs("status", ["web", "-o", "yaml"]).output).toBe("yaml");
  });

  it("reads vnc's local port and address", () => {
    expect(parseClusterArgs("vnc", ["web", "--port", "5901"])).toMatchObject({
      port: 5901,
      address: "127.0.0.1",
    });
    expect(parseClusterArgs("vnc", ["web"]).port).toBe(0);
  });

  it("answers --help without a VM name", () => {
    expect(parseClusterArgs("console", ["--help"]).help).toBe(true);
    expect(commandUsage("console")).toContain("Ctrl-] detaches");
    expect(commandUsage("status")).toContain("--all-namespaces");
  });

  it.each([
    ["stop", [], "vireo stop needs a VM name"],
    ["stop", ["a", "b"], "takes one VM name; got a b"],
    ["start", ["Web_1"], '"Web_1" is not a valid VirtualMachine name'],
    ["pause", ["web", "--all-namespaces"], "Unknown option '--all-namespaces'"],
    ["status", ["-o", "table2"], '--output must be table, wide, yaml or json; got "table2"'],
    ["status", ["web", "-A"], "--all-namespaces lists VMs"],
    ["vnc", ["web", "--port", "70000"], "--port must be a port number"],
  ] as const)("refuses %s %j with a usage error", (command, argv, message) => {
    try {
      parseClusterArgs(command, argv);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ClusterCliError);
      expect((err as ClusterCliError).code).toBe("USAGE");
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).toContain(`usage: vireo ${command}`);
    }
  });
});
