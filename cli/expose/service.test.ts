import { describe, expect, it } from "vitest";
import { launcherPodLabels } from "../../operator/pod/build.ts";
import { buildService, type ExposeError, launcherSelector } from "./service.ts";

describe("buildService", () => {
  it("selects the VM's launcher pod, port to target port", () => {
    const svc = buildService({
      vm: "web",
      namespace: "prod",
      port: "80",
      targetPort: "8080",
      type: "NodePort",
    });
    expect(svc.metadata).toMatchObject({ name: "web", namespace: "prod" });
    expect(svc.spec).toEqual({
      type: "NodePort",
      selector: { "vireo.dev/vm": "web", "app.kubernetes.io/component": "launcher" },
      ports: [{ name: "port-80", port: 80, targetPort: 8080, protocol: "TCP" }],
    });
  });

  it("the selector is a subset of launcherPodLabels, and not of another VM's", () => {
    const labels = launcherPodLabels("web");
    for (const [k, v] of Object.entries(launcherSelector("web"))) expect(labels[k]).toBe(v);
    expect(launcherPodLabels("web2")["vireo.dev/vm"]).not.toBe(launcherSelector("web")["vireo.dev/vm"]);
  });

  it("names the bad flag", () => {
    const e = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err as ExposeError;
      }
      throw new Error("did not throw");
    };
    expect(e(() => buildService({ vm: "web", namespace: "d", port: undefined })).message).toMatch(
      /^--port: is required/,
    );
    expect(e(() => buildService({ vm: "web", namespace: "d", port: "99999" })).flag).toBe("--port");
    expect(e(() => buildService({ vm: "web", namespace: "d", port: "22", targetPort: "x" })).flag).toBe(
      "--target-port",
    );
    expect(e(() => buildService({ vm: "web", namespace: "d", port: "22", type: "External" })).flag).toBe(
      "--type",
    );
    expect(e(() => buildService({ vm: "1web", namespace: "d", port: "22" })).flag).toBe("--name");
  });
});
