import { describe, expect, it } from "vitest";
import { parseGuestArgs, parsePortPair, parseUserAtVm, scpRemote } from "./args.ts";
import { scpArgv, shellQuote, sshArgv } from "./ssh-plan.ts";

describe("guest access args", () => {
  it("parses ports as kubectl port-forward does", () => {
    expect(parsePortPair("8080:80")).toEqual({ local: 8080, remote: 80 });
    expect(parsePortPair("22")).toEqual({ local: 22, remote: 22 });
    expect(parsePortPair(":80")).toEqual({ local: 0, remote: 80 });
    for (const bad of ["0", "80:", "a:80", "70000", "1:2:3"]) expect(parsePortPair(bad)).toBeUndefined();
  });

  it("parses [user@]VM and scp operands", () => {
    expect(parseUserAtVm("debian@web")).toEqual({ user: "debian", vm: "web" });
    expect(parseUserAtVm("web")).toEqual({ user: undefined, vm: "web" });
    expect(parseUserAtVm("@web")).toBeUndefined();
    expect(parseUserAtVm("Web_1")).toBeUndefined();
    expect(scpRemote("debian@web:/tmp/x")).toEqual({ user: "debian", vm: "web", path: "/tmp/x" });
    expect(scpRemote("./local")).toBeUndefined();
  });

  it("parses each command and refuses what it cannot do", () => {
    const u = "usage";
    expect(parseGuestArgs("guestosinfo", ["web", "-n", "prod"], u)).toMatchObject({
      vm: "web",
      namespace: "prod",
    });
    expect(parseGuestArgs("port-forward", ["web", "8080:80", "2222:22"], u).ports).toEqual([
      { local: 8080, remote: 80 },
      { local: 2222, remote: 22 },
    ]);
    expect(parseGuestArgs("port-forward", ["--stdio", "web", "22"], u)).toMatchObject({ stdio: true });
    expect(parseGuestArgs("ssh", ["-i", "k", "debian@web", "--", "uname", "-a"], u)).toMatchObject({
      vm: "web",
      user: "debian",
      identity: "k",
      rest: ["uname", "-a"],
    });
    expect(parseGuestArgs("scp", ["a.txt", "debian@web:/tmp/"], u)).toMatchObject({
      vm: "web",
      rest: ["a.txt", "debian@web:/tmp/"],
    });
    const usage = (c: Parameters<typeof parseGuestArgs>[0], argv: string[]) =>
      expect(() => parseGuestArgs(c, argv, u)).toThrow(expect.objectContaining({ code: "USAGE" }));
    usage("guestosinfo", []);
    usage("fslist", ["web", "extra"]);
    usage("userlist", ["root@web"]);
    usage("port-forward", ["web"]);
    usage("port-forward", ["--stdio", "web", "22", "80"]);
    usage("scp", ["a", "b"]);
    usage("scp", ["web:/a", "db:/b"]);
  });

  it("builds ssh and scp argv with a port-forward ProxyCommand and a per-VM host key alias", () => {
    const plan = {
      self: ["/usr/bin/node", "/opt/vireo/bin/vireo.js"],
      namespace: "prod",
      vm: "web",
      user: "debian",
      identity: "/home/me/.ssh/id",
      kubeconfig: "/home/me/kube config",
      context: undefined,
    };
    expect(sshArgv(plan, ["uname"])).toEqual([
      "-o",
      "ProxyCommand=/usr/bin/node /opt/vireo/bin/vireo.js port-forward --stdio -n prod --kubeconfig '/home/me/kube config' web 22",
      "-o",
      "HostKeyAlias=vm.prod.web",
      "-i",
      "/home/me/.ssh/id",
      "debian@web",
      "uname",
    ]);
    expect(scpArgv({ ...plan, identity: undefined }, ["f", "debian@web:/tmp/f"]).slice(-2)).toEqual([
      "f",
      "debian@web:/tmp/f",
    ]);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
