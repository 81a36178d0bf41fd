import { describe, expect, it } from "vitest";
import { ByteRing } from "./ring.ts";

describe("ByteRing", () => {
  it("keeps everything until full, then the most recent bytes in order", () => {
    const r = new ByteRing(8);
    r.write(Buffer.from("abc"));
    expect(r.contents().toString()).toBe("abc");
    r.write(Buffer.from("defgh"));
    expect(r.contents().toString()).toBe("abcdefgh");
    r.write(Buffer.from("ij"));
    expect(r.contents().toString()).toBe("cdefghij");
    r.write(Buffer.from("klmno"));
    expect(r.contents().toString()).toBe("hijklmno");
    expect(r.totalBytes).toBe(15);
  });

  it("keeps the tail of a chunk larger than the ring", () => {
    const r = new ByteRing(4);
    r.write(Buffer.from("x"));
    r.write(Buffer.from("0123456789"));
    expect(r.contents().toString()).toBe("6789");
  });

  it("matches a naive model across many random writes", () => {
    const r = new ByteRing(37);
    let model = "";
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const s = String.fromCharCode(97 + (i % 26)).repeat(seed % 50);
      r.write(Buffer.from(s));
      model = (model + s).slice(-37);
      expect(r.contents().toString()).toBe(model);
    }
  });
});
