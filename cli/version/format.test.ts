import { describe, expect, it } from "vitest";
import { formatVersion, versionSkew } from "./format.ts";

const op = { namespace: "vireo-system", name: "vireo-operator", image: "r/op:0.1.0", ready: 2, replicas: 2 };

describe("vireo version output", () => {
  it("prints client only, or client, Kubernetes and each operator", () => {
    expect(formatVersion({ client: "0.1.0" })).toBe("Client Version: 0.1.0");
    expect(
      formatVersion({ client: "0.1.0", server: "v1.37.2", operators: [{ ...op, version: "0.1.0" }] }),
    ).toBe(
      "Client Version: 0.1.0\nKubernetes Version: v1.37.2\n" +
        "Operator Version: 0.1.0 (vireo-system/vireo-operator, image r/op:0.1.0, 2/2 ready)",
    );
    expect(formatVersion({ client: "0.1.0", operators: [] })).toContain("no Vireo operator found");
    expect(formatVersion({ client: "0.1.0", clusterError: "unreachable" })).toContain(
      "(cluster: unreachable)",
    );
  });

  it("warns about a minor-version skew between client and operator", () => {
    expect(versionSkew({ client: "0.1.0", operators: [{ ...op, version: "0.1.3" }] })).toBeUndefined();
    expect(formatVersion({ client: "0.2.0", operators: [{ ...op, version: "0.1.0" }] })).toContain(
      "WARNING: client 0.2.0 and operator 0.1.0 (vireo-system/vireo-operator) differ in minor version",
    );
  });
});
