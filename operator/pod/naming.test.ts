import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { podLocalName } from "./naming.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe("podLocalName", () => {
  it("keeps short names and shortens long ones to a 63-character label", () => {
    expect(podLocalName("cd", "root")).toBe("cd-root");
    const long = podLocalName("secret", "a".repeat(63));
    expect(long).toHaveLength(63);
    expect(long).toMatch(DNS_LABEL);
  });

  it("a volume named like another's shortened name does not get the same pod name", () => {
    // The old rule kept names of up to 63 characters and stripped hyphens before the hash: both let a
    // crafted name land exactly on another volume's shortened name.
    for (const prefix of ["copy", "cd", "pvc", "ud", "nd", "cm", "secret"]) {
      for (const victim of ["x".repeat(63), `${"y".repeat(40)}${"-".repeat(12)}${"z".repeat(11)}`]) {
        const short = podLocalName(prefix, victim);
        const crafted = short.slice(prefix.length + 1);
        expect(crafted).toMatch(DNS_LABEL);
        expect([prefix, victim, podLocalName(prefix, crafted)]).not.toEqual([prefix, victim, short]);
        expect(short).toHaveLength(63);
      }
    }
  });

  it("the hash is of the whole name, so two long names sharing a head differ", () => {
    const a = podLocalName("cd", `${"h".repeat(60)}-a`);
    const b = podLocalName("cd", `${"h".repeat(60)}-b`);
    expect(a).not.toBe(b);
    expect(
      a.endsWith(
        createHash("sha256")
          .update(`${"h".repeat(60)}-a`)
          .digest("hex")
          .slice(0, 8),
      ),
    ).toBe(true);
  });
});
