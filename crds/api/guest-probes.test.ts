import { describe, expect, it } from "vitest";
import { validateVirtualMachine } from "./validate.ts";

const vm = (spec: Record<string, unknown>) => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "web", namespace: "prod" },
  spec: { memory: { guest: "1Gi" }, ...spec },
});

describe("guest agent probes in the API", () => {
  it("accepts guestAgentPing and exec probes, and refuses a probe with two handlers or an empty command", () => {
    expect(validateVirtualMachine(vm({ readinessProbe: { guestAgentPing: {} } })).ok).toBe(true);
    expect(validateVirtualMachine(vm({ livenessProbe: { exec: { command: ["/bin/true"] } } })).ok).toBe(true);
    const both = validateVirtualMachine(
      vm({ readinessProbe: { guestAgentPing: {}, tcpSocket: { port: 22 } } }),
    );
    expect(both.ok).toBe(false);
    expect(JSON.stringify(both)).toMatch(
      /exactly one of httpGet, tcpSocket, guestAgentPing, exec \(found tcpSocket, guestAgentPing\)/,
    );
    expect(validateVirtualMachine(vm({ readinessProbe: { exec: { command: [] } } })).ok).toBe(false);
  });
});
