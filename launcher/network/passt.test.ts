import { describe, expect, it } from "vitest";
import { passtArgs } from "./passt.ts";

describe("passtArgs", () => {
  it("runs in the foreground on the planned socket with the planned ports and DNS", () => {
    expect(
      passtArgs({
        nic: "default",
        socketPath: "/var/run/vireo/passt-0.sock",
        podInterface: "eth0",
        tcpPorts: "8080,8443",
        udpPorts: "none",
        dns: ["10.96.0.10"],
        search: ["ns1.svc.cluster.local", "svc.cluster.local"],
      }),
    ).toEqual([
      "--foreground",
      "--stderr",
      "--socket",
      "/var/run/vireo/passt-0.sock",
      "--pid",
      "/var/run/vireo/passt-0.pid",
      "--interface",
      "eth0",
      "--tcp-ports",
      "8080,8443",
      "--udp-ports",
      "none",
      "--dns",
      "10.96.0.10",
      "--search",
      "ns1.svc.cluster.local svc.cluster.local",
    ]);
  });

  it("announces no DNS when the pod has none", () => {
    const args = passtArgs({
      nic: "n",
      socketPath: "/r/p.sock",
      podInterface: "eth0",
      tcpPorts: "~9100",
      udpPorts: "~9100",
      dns: [],
      search: [],
    });
    expect(args.slice(-2)).toEqual(["--no-dhcp-dns", "--no-dhcp-search"]);
  });
});
