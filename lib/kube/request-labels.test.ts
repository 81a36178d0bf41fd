import { describe, expect, it } from "vitest";
import { requestLabels } from "./request-labels.ts";

describe("requestLabels", () => {
  const table: [string, string, { watch?: boolean; apply?: boolean }, string, string][] = [
    // method, path, options, verb, resource
    ["POST", "/api/v1/namespaces/prod/pods", {}, "create", "pods"],
    ["DELETE", "/api/v1/namespaces/prod/pods/vireo-launcher-web", {}, "delete", "pods"],
    ["DELETE", "/api/v1/namespaces/prod/pods", {}, "deletecollection", "pods"],
    ["GET", "/api/v1/pods", {}, "list", "pods"],
    ["GET", "/api/v1/pods", { watch: true }, "watch", "pods"],
    ["GET", "/apis/vireo.dev/v1alpha1/virtualmachines", {}, "list", "virtualmachines"],
    ["GET", "/apis/vireo.dev/v1alpha1/namespaces/prod/virtualmachines/web", {}, "get", "virtualmachines"],
    [
      "PATCH",
      "/apis/vireo.dev/v1alpha1/namespaces/prod/virtualmachines/web/status",
      { apply: true },
      "apply",
      "virtualmachines/status",
    ],
    ["PATCH", "/apis/vireo.dev/v1alpha1/namespaces/prod/virtualmachines/web", {}, "patch", "virtualmachines"],
    [
      "PUT",
      "/apis/coordination.k8s.io/v1/namespaces/vireo-system/leases/vireo-operator",
      {},
      "update",
      "leases",
    ],
    ["GET", "/api/v1/namespaces/prod", {}, "get", "namespaces"],
    ["GET", "/api/v1/namespaces", {}, "list", "namespaces"],
    ["GET", "/api/v1/namespaces/prod/pods/web/log?follow=true", {}, "get", "pods/log"],
  ];
  for (const [method, path, options, verb, resource] of table)
    it(`${method} ${path}${options.watch ? " (watch)" : ""}${options.apply ? " (apply)" : ""} → ${verb} ${resource}`, () => {
      expect(requestLabels(method, path, options)).toEqual({ verb, resource });
    });
});
