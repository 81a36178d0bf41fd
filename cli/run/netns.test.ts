import { describe, expect, it } from "vitest";
import { podLink } from "./netns.ts";

describe("podLink", () => {
  it("cuts 198.18.0.0/15 into /30 host–pod links", () => {
    expect(podLink(0)).toEqual({ hostIp: "198.18.0.1", podIp: "198.18.0.2", prefixLength: 30 });
    expect(podLink(64)).toEqual({ hostIp: "198.18.1.1", podIp: "198.18.1.2", prefixLength: 30 });
    expect(podLink(32767)).toEqual({ hostIp: "198.19.255.253", podIp: "198.19.255.254", prefixLength: 30 });
    expect(podLink(32768)).toEqual(podLink(0));
  });
});
