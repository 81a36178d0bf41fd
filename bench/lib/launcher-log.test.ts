import { describe, expect, it } from "vitest";
import { LineSplitter, parseLogLine, phaseMarks } from "./launcher-log.ts";

describe("launcher log", () => {
  it("reads phase marks, first of each, ignoring unknown phases and lines without a time", () => {
    const lines = [
      '{"level":30,"phase":"config","sinceStartMs":120,"msg":"config loaded"}',
      "qemu-system-x86_64: warning: something",
      '{"level":30,"phase":"disks","sinceStartMs":150}',
      '{"level":30,"phase":"disks","sinceStartMs":999}',
      '{"level":30,"phase":"warp","sinceStartMs":1}',
      '{"level":30,"phase":"qmp"}',
      '{"level":30,"phase":"qmp","sinceStartMs":210}',
      "{not json",
    ]
      .map(parseLogLine)
      .filter((l) => l !== undefined);
    expect(phaseMarks(lines)).toEqual({ config: 120, disks: 150, qmp: 210 });
  });

  it("splits chunks into lines, holding a partial line back", () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(":2}\n\n")).toEqual(['{"b":2}', ""]);
    expect(s.push("x")).toEqual([]);
  });
});
