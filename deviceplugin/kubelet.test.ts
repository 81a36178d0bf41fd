import { describe, expect, it } from "vitest";
import { decideKubeletAction } from "./kubelet.ts";

describe("decideKubeletAction", () => {
  it.each([
    // registeredWith, kubelet socket now, own sockets present → action
    [undefined, undefined, true, "wait"],
    ["a", undefined, true, "wait"],
    ["a", undefined, false, "wait"],
    [undefined, "a", true, "register"],
    [undefined, "a", false, "restart-and-register"],
    ["a", "a", true, "none"],
    ["a", "a", false, "restart-and-register"],
    ["a", "b", true, "restart-and-register"],
    ["a", "b", false, "restart-and-register"],
  ] as const)(
    "registered with %s, kubelet %s, own sockets %s → %s",
    (registeredWith, kubeletSocket, ownSocketsPresent, action) => {
      expect(decideKubeletAction(registeredWith, { kubeletSocket, ownSocketsPresent })).toBe(action);
    },
  );
});
