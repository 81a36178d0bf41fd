import { describe, expect, it } from "vitest";
import { parseStatCpuTicks, parseStatusMemory } from "./proc.ts";

describe("/proc parsers", () => {
  it("reads memory lines of /proc/<pid>/status", () => {
    const text = [
      "Name:\tnode",
      "VmPeak:\t 1081180 kB",
      "VmHWM:\t   52340 kB",
      "VmRSS:\t   48012 kB",
      "RssAnon:\t   30000 kB",
      "RssFile:\t   18000 kB",
      "RssShmem:\t      12 kB",
    ].join("\n");
    expect(parseStatusMemory(text)).toEqual({
      rssKiB: 48012,
      hwmKiB: 52340,
      rssAnonKiB: 30000,
      rssFileKiB: 18000,
    });
  });

  it("counts stat fields after the command name, which may hold spaces and parentheses", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const text = "4037 (qemu (x) y) S 4036 4036 1 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 5 0 9 0";
    expect(parseStatCpuTicks(text)).toBe(1234 + 567);
  });
});
