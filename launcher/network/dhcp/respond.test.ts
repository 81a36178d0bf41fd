import { describe, expect, it } from "vitest";
import type { DhcpLease } from "../plan-types.ts";
import { encode, MessageType, Option, optionIp, type DhcpMessage } from "./packet.ts";
import { admitSource, respond } from "./respond.ts";

const lease: DhcpLease = {
  interface: "k6t-eth0",
  serverAddress: "169.254.75.10",
  mac: "0a:58:0a:f4:01:05",
  ip: "10.244.1.5",
  prefixLength: 24,
  router: "10.244.1.1",
  routes: [{ dst: "0.0.0.0/0", via: "10.244.1.1" }],
  dns: ["10.96.0.10"],
  search: ["ns1.svc.cluster.local", "svc.cluster.local"],
  mtu: 1450,
  hostname: "vm1",
};

function request(type: number, extra: [number, Buffer][] = [], over: Partial<DhcpMessage> = {}): DhcpMessage {
  return {
    op: 1,
    xid: 42,
    secs: 0,
    flags: 0,
    ciaddr: "0.0.0.0",
    yiaddr: "0.0.0.0",
    siaddr: "0.0.0.0",
    giaddr: "0.0.0.0",
    chaddr: lease.mac,
    options: new Map([[Option.MESSAGE_TYPE, encode.u8(type)], ...extra]),
    ...over,
  };
}

describe("respond", () => {
  it("offers the static lease with every option the pod knows", () => {
    const r = respond(request(MessageType.DISCOVER), [lease]);
    if (r.kind !== "reply") throw new Error(r.reason);
    expect(r.type).toBe("OFFER");
    expect(r.to).toBe("10.244.1.5");
    const m = r.message;
    expect(m).toMatchObject({ op: 2, xid: 42, yiaddr: "10.244.1.5", chaddr: lease.mac });
    const o = m.options;
    expect(o.get(Option.MESSAGE_TYPE)).toEqual(Buffer.from([MessageType.OFFER]));
    expect(optionIp(m, Option.SERVER_ID)).toBe("169.254.75.10");
    expect(optionIp(m, Option.SUBNET_MASK)).toBe("255.255.255.0");
    expect(optionIp(m, Option.BROADCAST)).toBe("10.244.1.255");
    expect(optionIp(m, Option.ROUTER)).toBe("10.244.1.1");
    expect(optionIp(m, Option.DNS)).toBe("10.96.0.10");
    expect(o.get(Option.LEASE_TIME)).toEqual(Buffer.from([255, 255, 255, 255]));
    expect(o.get(Option.MTU)).toEqual(Buffer.from([0x05, 0xaa]));
    expect(o.get(Option.HOSTNAME)?.toString()).toBe("vm1");
    expect(o.get(Option.DOMAIN_NAME)?.toString()).toBe("ns1.svc.cluster.local");
    expect(o.get(Option.CLASSLESS_ROUTES)).toEqual(Buffer.from([0, 10, 244, 1, 1]));
    expect(o.has(Option.DOMAIN_SEARCH)).toBe(true);
  });

  it("acknowledges a request for the leased address and NAKs any other", () => {
    const ok = respond(
      request(MessageType.REQUEST, [
        [Option.REQUESTED_IP, encode.ips(["10.244.1.5"])],
        [Option.SERVER_ID, encode.ips(["169.254.75.10"])],
      ]),
      [lease],
    );
    expect(ok.kind === "reply" && ok.type).toBe("ACK");
    const renew = respond(request(MessageType.REQUEST, [], { ciaddr: "10.244.1.5" }), [lease]);
    expect(renew.kind === "reply" && [renew.type, renew.to]).toEqual(["ACK", "10.244.1.5"]);
    const stale = respond(request(MessageType.REQUEST, [[Option.REQUESTED_IP, encode.ips(["10.244.7.9"])]]), [
      lease,
    ]);
    if (stale.kind !== "reply") throw new Error("expected a NAK");
    expect(stale.type).toBe("NAK");
    expect(stale.message.yiaddr).toBe("0.0.0.0");
    expect(stale.message.options.has(Option.LEASE_TIME)).toBe(false);
  });

  it("answers INFORM without an address or lease time", () => {
    const r = respond(request(MessageType.INFORM, [], { ciaddr: "10.244.1.5" }), [lease]);
    if (r.kind !== "reply") throw new Error(r.reason);
    expect(r.type).toBe("ACK");
    expect(r.message.yiaddr).toBe("0.0.0.0");
    expect(r.message.options.has(Option.LEASE_TIME)).toBe(false);
    expect(optionIp(r.message, Option.ROUTER)).toBe("10.244.1.1");
  });

  it("ignores strangers, relays, other servers' clients and releases", () => {
    const kinds = [
      respond(request(MessageType.DISCOVER, [], { chaddr: "02:00:00:00:00:99" }), [lease]),
      respond(request(MessageType.DISCOVER, [], { giaddr: "10.0.0.1" }), [lease]),
      respond(
        request(MessageType.REQUEST, [
          [Option.SERVER_ID, encode.ips(["10.9.9.9"])],
          [Option.REQUESTED_IP, encode.ips(["10.244.1.5"])],
        ]),
        [lease],
      ),
      respond(request(MessageType.RELEASE, [], { ciaddr: "10.244.1.5" }), [lease]),
      respond({ ...request(MessageType.DISCOVER), op: 2 }, [lease]),
    ];
    expect(kinds.map((k) => k.kind)).toEqual(["ignore", "ignore", "ignore", "ignore", "ignore"]);
  });

  it("sends no router when the lease has none, and no broadcast option for /32", () => {
    const r = respond(request(MessageType.DISCOVER), [
      { ...lease, router: undefined, routes: [], prefixLength: 32 },
    ] as DhcpLease[]);
    if (r.kind !== "reply") throw new Error(r.reason);
    expect(r.message.options.has(Option.ROUTER)).toBe(false);
    expect(r.message.options.has(Option.CLASSLESS_ROUTES)).toBe(false);
    expect(r.message.options.has(Option.BROADCAST)).toBe(false);
    expect(optionIp(r.message, Option.SUBNET_MASK)).toBe("255.255.255.255");
  });

  it("replies only to the leased address, never to one the request names", () => {
    // A forged ciaddr once made the server send its reply to any address (a reflector).
    for (const type of [MessageType.DISCOVER, MessageType.REQUEST]) {
      const r = respond(request(type, [], { ciaddr: "10.96.0.1" }), [lease]);
      if (r.kind === "reply") expect(r.to).toBe(lease.ip);
    }
    const discover = respond(request(MessageType.DISCOVER, [], { ciaddr: "10.96.0.1" }), [lease]);
    expect(discover.kind).toBe("ignore");
    const inform = respond(request(MessageType.INFORM, [], { ciaddr: "10.96.0.1" }), [lease]);
    expect(inform.kind).toBe("ignore");
    const renew = respond(request(MessageType.REQUEST, [], { ciaddr: "10.96.0.1" }), [lease]);
    expect(renew).toMatchObject({ kind: "reply", type: "NAK", to: lease.ip });
  });

  it("admits datagrams only from a DHCP client: port 68, from 0.0.0.0 or a leased address", () => {
    expect(admitSource({ address: "0.0.0.0", port: 68 }, [lease])).toBeUndefined();
    expect(admitSource({ address: lease.ip, port: 68 }, [lease])).toBeUndefined();
    expect(admitSource({ address: "10.244.1.9", port: 68 }, [lease])).toMatch(/address/);
    expect(admitSource({ address: "0.0.0.0", port: 5353 }, [lease])).toMatch(/port/);
  });
});
