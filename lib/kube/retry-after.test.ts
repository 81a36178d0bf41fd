import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_MS, retryAfterMs } from "./retry-after.ts";

describe("retryAfterMs", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads delta-seconds and HTTP dates on 429 and 503", () => {
    expect(retryAfterMs(429, "2", now)).toBe(2000);
    expect(retryAfterMs(503, " 0 ", now)).toBe(0);
    expect(retryAfterMs(503, "Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(retryAfterMs(429, "Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  });
  it("caps a long wait and ignores other statuses, a missing or a malformed header", () => {
    expect(retryAfterMs(429, "86400", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs(500, "1", now)).toBeUndefined();
    expect(retryAfterMs(404, "1", now)).toBeUndefined();
    expect(retryAfterMs(429, undefined, now)).toBeUndefined();
    expect(retryAfterMs(429, "soon", now)).toBeUndefined();
    expect(retryAfterMs(429, "-1", now)).toBeUndefined();
  });
});
