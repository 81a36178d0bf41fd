import { describe, expect, it } from "vitest";
import { AgentLineReader } from "./lines.ts";

const b = (s: string | number[]) => (typeof s === "string" ? Buffer.from(s) : Buffer.from(s));

describe("AgentLineReader", () => {
  it("splits lines across chunks and skips blank ones", () => {
    const r = new AgentLineReader();
    expect(r.push(b('{"return"'))).toEqual([]);
    expect(r.push(b(': {}}\n\n{"a":1}\n{"b"'))).toEqual([
      { kind: "line", text: '{"return": {}}' },
      { kind: "line", text: '{"a":1}' },
    ]);
    expect(r.held).toBe(4);
  });

  it("turns 0xFF into a sync mark and drops the half line before it", () => {
    const r = new AgentLineReader();
    const frames = r.push(Buffer.concat([b("garbage without newline"), b([0xff]), b('{"return": 7}\n')]));
    expect(frames).toEqual([{ kind: "sync-mark" }, { kind: "line", text: '{"return": 7}' }]);
  });

  it("drops a line over the bound without holding it, and reports it once", () => {
    const r = new AgentLineReader(16);
    expect(r.push(b("x".repeat(10)))).toEqual([]);
    expect(r.push(b("x".repeat(10)))).toEqual([]);
    expect(r.held).toBe(0);
    for (let i = 0; i < 100; i++) expect(r.push(b("y".repeat(1000)))).toEqual([]);
    expect(r.held).toBe(0);
    expect(r.push(b('tail\n{"ok":1}\n'))).toEqual([
      { kind: "oversized", bytes: 20 + 100_000 + 4 },
      { kind: "line", text: '{"ok":1}' },
    ]);
  });

  it("ends an oversized line at a sync mark too", () => {
    const r = new AgentLineReader(4);
    expect(r.push(Buffer.concat([b("123456"), b([0xff]), b("{}\n")]))).toEqual([
      { kind: "oversized", bytes: 6 },
      { kind: "sync-mark" },
      { kind: "line", text: "{}" },
    ]);
  });

  it("keeps a line of exactly the bound", () => {
    const r = new AgentLineReader(4);
    expect(r.push(b("1234\n"))).toEqual([{ kind: "line", text: "1234" }]);
  });

  it("skip: the line in progress is lost and reported when it ends", () => {
    const r = new AgentLineReader(64);
    r.push(b("partial"));
    r.skip(1000);
    expect(r.held).toBe(0);
    expect(r.push(b("rest\n{}\n"))).toEqual([
      { kind: "oversized", bytes: 7 + 1000 + 4 },
      { kind: "line", text: "{}" },
    ]);
  });
});
