import { describe, expect, it } from "vitest";
import { splitAtEscape } from "./console.ts";
import { exitCodeOf } from "./launcher-exec.ts";

describe("splitAtEscape", () => {
  it("forwards everything without the escape byte", () => {
    expect(splitAtEscape(Buffer.from("ls -l\r"))).toEqual({ forward: Buffer.from("ls -l\r"), detach: false });
  });
  it("stops at Ctrl-] and never forwards it or what follows", () => {
    expect(splitAtEscape(Buffer.from("ab\x1dcd"))).toEqual({ forward: Buffer.from("ab"), detach: true });
    expect(splitAtEscape(Buffer.from("\x1d"))).toEqual({ forward: Buffer.alloc(0), detach: true });
  });
  it("passes Ctrl-C through to the guest", () => {
    expect(splitAtEscape(Buffer.from("\x03")).detach).toBe(false);
  });
});

describe("exitCodeOf", () => {
  it("reads the exec status", () => {
    expect(exitCodeOf({ status: "Success" })).toBe(0);
    expect(
      exitCodeOf({
        status: "Failure",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "3" }] },
      }),
    ).toBe(3);
    expect(exitCodeOf({ status: "Failure", message: "container not found" })).toBeUndefined();
    expect(exitCodeOf(undefined)).toBeUndefined();
  });
});
