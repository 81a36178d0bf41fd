import { describe, expect, it } from "vitest";
import { LAUNCHER_GID } from "../crds/contract/index.ts";
import { LAUNCHER_NODE_MODE, type NodeFacts, nodeAction, splitDev } from "./launcher-nodes.ts";

const tun = { major: 10, minor: 200 };
const good: NodeFacts = { ...tun, charDevice: true, uid: 0, gid: LAUNCHER_GID, mode: LAUNCHER_NODE_MODE };

describe("nodeAction", () => {
  it("keeps a node that matches the host device, owner and mode", () => {
    expect(nodeAction(tun, good)).toBe("keep");
  });

  it.each<[string, Partial<NodeFacts>]>([
    ["other numbers (the host node was re-created)", { minor: 201 }],
    ["another major", { major: 11 }],
    ["the host's own owner", { gid: 0 }],
    ["owned by the launcher user", { uid: LAUNCHER_GID }],
    ["the host's mode 0600", { mode: 0o600 }],
    ["world-writable", { mode: 0o666 }],
    ["not a character device", { charDevice: false }],
  ])("makes the node again when it has %s", (_what, change) => {
    expect(nodeAction(tun, { ...good, ...change })).toBe("make");
  });

  it("makes a missing node, removes one whose host device is gone, and leaves nothing alone", () => {
    expect(nodeAction(tun, undefined)).toBe("make");
    expect(nodeAction(undefined, good)).toBe("remove");
    expect(nodeAction(undefined, undefined)).toBe("none");
  });
});

describe("splitDev", () => {
  it("splits dev_t as glibc does, including large minors and majors", () => {
    expect(splitDev((10n << 8n) | 200n)).toEqual({ major: 10, minor: 200 });
    expect(splitDev((10n << 8n) | 232n)).toEqual({ major: 10, minor: 232 });
    // major 511, minor 70000: minor's high bits live above bit 20, major's above bit 44.
    const major = 511n;
    const minor = 70_000n;
    const dev =
      ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
    expect(splitDev(dev)).toEqual({ major: 511, minor: 70_000 });
  });
});
