import { describe, expect, it } from "vitest";
import {
  decodeMessage,
  decodeOptions,
  MAX_REQUEST_BYTES,
  encode,
  encodeMessage,
  MessageType,
  Option,
  optionIp,
  type DhcpMessage,
} from "./packet.ts";

const discover = (): DhcpMessage => ({
  op: 1,
  xid: 0x3903f326,
  secs: 3,
  flags: 0x8000,
  ciaddr: "0.0.0.0",
  yiaddr: "0.0.0.0",
  siaddr: "0.0.0.0",
  giaddr: "0.0.0.0",
  chaddr: "0a:58:0a:f4:01:05",
  options: new Map([
    [Option.MESSAGE_TYPE, encode.u8(MessageType.DISCOVER)],
    [Option.REQUESTED_IP, encode.ips(["10.244.1.5"])],
  ]),
});

describe("DHCP wire format", () => {
  it("round-trips a message and pads it to the BOOTP minimum", () => {
    const buf = encodeMessage(discover());
    expect(buf.length).toBe(300);
    expect([...buf.subarray(236, 240)]).toEqual([99, 130, 83, 99]);
    const back = decodeMessage(buf)!;
    expect({ ...back, options: undefined }).toEqual({ ...discover(), options: undefined });
    expect(back.options.get(Option.MESSAGE_TYPE)).toEqual(Buffer.from([1]));
    expect(optionIp(back, Option.REQUESTED_IP)).toBe("10.244.1.5");
  });

  it("splits options longer than 255 bytes and joins them on decode (RFC 3396)", () => {
    const long = Buffer.alloc(600, 7);
    const m = { ...discover(), options: new Map([[Option.DOMAIN_SEARCH, long]]) };
    const buf = encodeMessage(m);
    expect(buf.readUInt8(240)).toBe(Option.DOMAIN_SEARCH);
    expect(buf.readUInt8(241)).toBe(255);
    expect(decodeMessage(buf)!.options.get(Option.DOMAIN_SEARCH)).toEqual(long);
  });

  it("rejects what is not an Ethernet DHCP message", () => {
    const buf = encodeMessage(discover());
    expect(decodeMessage(buf.subarray(0, 200))).toBeUndefined();
    const noCookie = Buffer.from(buf);
    noCookie.writeUInt8(0, 236);
    expect(decodeMessage(noCookie)).toBeUndefined();
    const notEthernet = Buffer.from(buf);
    notEthernet.writeUInt8(6, 1);
    expect(decodeMessage(notEthernet)).toBeUndefined();
    const truncatedOption = Buffer.concat([buf.subarray(0, 240), Buffer.from([Option.DNS, 8, 1, 2])]);
    expect(decodeMessage(truncatedOption)).toBeUndefined();
  });

  it("encodes classless static routes as RFC 3442's examples do", () => {
    expect([...encode.routes([{ dst: "0.0.0.0/0", via: "10.0.0.1" }])]).toEqual([0, 10, 0, 0, 1]);
    expect([...encode.routes([{ dst: "10.17.0.0/16", via: "10.0.0.1" }])]).toEqual([16, 10, 17, 10, 0, 0, 1]);
    expect([...encode.routes([{ dst: "10.27.129.0/24", via: "10.0.0.1" }])]).toEqual([
      24, 10, 27, 129, 10, 0, 0, 1,
    ]);
    expect([...encode.routes([{ dst: "10.229.0.128/25", via: "10.0.0.1" }])]).toEqual([
      25, 10, 229, 0, 128, 10, 0, 0, 1,
    ]);
    expect([...encode.routes([{ dst: "169.254.1.1/32", via: "0.0.0.0" }])]).toEqual([
      32, 169, 254, 1, 1, 0, 0, 0, 0,
    ]);
  });

  it("encodes the domain search list as uncompressed RFC 1035 names (RFC 3397)", () => {
    const b = encode.domains(["eng.apple.com", "marketing.apple.com."]);
    expect(b.toString("latin1")).toBe("\x03eng\x05apple\x03com\x00\x09marketing\x05apple\x03com\x00");
  });

  /** A request of `bytes` bytes whose options are all hostname (12) one byte at a time. */
  const repeated = (bytes: number) => {
    const head = encodeMessage(discover()).subarray(0, 240);
    const n = Math.floor((bytes - 240 - 1) / 3);
    const opts = Buffer.alloc(3 * n + 1);
    for (let i = 0; i < n; i++) opts.set([Option.HOSTNAME, 1, 65], 3 * i);
    opts[3 * n] = 255;
    return { buf: Buffer.concat([head, opts]), n };
  };

  it("parses repeated options in linear time (a 64 KB packet cost ~100 ms when each instance copied the value so far)", () => {
    const { buf, n } = repeated(65_507);
    const started = performance.now();
    for (let i = 0; i < 10; i++) expect(decodeOptions(buf, 240)!.get(Option.HOSTNAME)!.length).toBe(n);
    // Measured here: 43–300 ms per packet before, 5–20 ms after (2 shared cores); ten must fit in 250 ms.
    expect(performance.now() - started).toBeLessThan(250);
  });

  it("drops requests larger than any DHCP client sends, unparsed", () => {
    expect(decodeMessage(repeated(65_507).buf)).toBeUndefined();
    const { buf, n } = repeated(MAX_REQUEST_BYTES);
    expect(buf.length).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(decodeMessage(buf)!.options.get(Option.HOSTNAME)).toEqual(Buffer.alloc(n, 65));
    const padded = Buffer.concat([buf, Buffer.alloc(MAX_REQUEST_BYTES - buf.length)]);
    expect(decodeMessage(padded)).toBeDefined();
    expect(decodeMessage(Buffer.concat([padded, Buffer.alloc(1)]))).toBeUndefined();
  });
});
