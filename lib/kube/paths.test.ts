import { describe, expect, it } from "vitest";
import { resourcePath } from "./paths.ts";

describe("resourcePath", () => {
  it("builds core and group paths, cluster-wide, namespaced and named, with names escaped", () => {
    const vms = { group: "vireo.dev", version: "v1alpha1", plural: "virtualmachines" };
    expect(resourcePath(vms)).toBe("/apis/vireo.dev/v1alpha1/virtualmachines");
    expect(resourcePath(vms, "prod", "web")).toBe(
      "/apis/vireo.dev/v1alpha1/namespaces/prod/virtualmachines/web",
    );
    expect(resourcePath({ version: "v1", plural: "namespaces" })).toBe("/api/v1/namespaces");
    expect(resourcePath({ version: "v1", plural: "pods" }, "a b", "x/y")).toBe(
      "/api/v1/namespaces/a%20b/pods/x%2Fy",
    );
  });
});
