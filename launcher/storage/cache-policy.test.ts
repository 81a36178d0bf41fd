import { describe, expect, it } from "vitest";
import { chooseCache } from "./cache-policy.ts";
import { DiskError } from "./errors.ts";

describe("chooseCache", () => {
  it("uses cache=none with native AIO where O_DIRECT works", () => {
    expect(chooseCache({ name: "root" }, true, "/pvc")).toEqual({
      cache: "none",
      aio: "native",
      fellBack: false,
    });
  });

  it("falls back to writethrough with thread AIO where it does not, and says so", () => {
    expect(chooseCache({ name: "root" }, false, "/pvc")).toEqual({
      cache: "writethrough",
      aio: "threads",
      fellBack: true,
    });
  });

  it("refuses an explicit cache=none on storage without O_DIRECT", () => {
    const err = (() => {
      try {
        chooseCache({ name: "root", cache: "none" }, false, "/ramfs");
      } catch (e) {
        return e;
      }
    })() as DiskError;
    expect(err).toBeInstanceOf(DiskError);
    expect(err.code).toBe("DIRECT_IO_UNSUPPORTED");
    expect(err.disk).toBe("root");
    expect(err.message).toContain("/ramfs");
  });

  it("honours explicit host-cached modes with thread AIO, O_DIRECT or not", () => {
    for (const direct of [true, false]) {
      expect(chooseCache({ name: "d", cache: "writeback" }, direct, "/x")).toEqual({
        cache: "writeback",
        aio: "threads",
        fellBack: false,
      });
      expect(chooseCache({ name: "d", cache: "writethrough" }, direct, "/x").aio).toBe("threads");
    }
    expect(chooseCache({ name: "d", cache: "none" }, true, "/x")).toEqual({
      cache: "none",
      aio: "native",
      fellBack: false,
    });
  });
});
