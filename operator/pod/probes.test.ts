import { describe, expect, it } from "vitest";
import { guestProbe } from "./probes.ts";

describe("guest agent probes", () => {
  it("guestAgentPing and exec become exec probes of vireo-launcher probe, with the launcher's overhead on top", () => {
    expect(guestProbe({ guestAgentPing: {}, periodSeconds: 10 })).toEqual({
      exec: { command: ["vireo-launcher", "probe", "--timeout", "1", "agent-ping"] },
      periodSeconds: 10,
      timeoutSeconds: 11,
    });
    expect(guestProbe({ exec: { command: ["cat", "/tmp/healthy"] }, timeoutSeconds: 5 })).toEqual({
      exec: { command: ["vireo-launcher", "probe", "--timeout", "5", "exec", "--", "cat", "/tmp/healthy"] },
      timeoutSeconds: 15,
    });
    expect(guestProbe({ tcpSocket: { port: 22 }, timeoutSeconds: 3 })).toEqual({
      tcpSocket: { port: 22 },
      timeoutSeconds: 3,
    });
  });
});
