import { describe, expect, it } from "vitest";
import { metricsTargets, parsePodLogDir } from "./discovery.ts";

const UID_A = "0b8f2a7e-1c2d-4e5f-8a9b-0123456789ab";
const UID_B = "1b8f2a7e-1c2d-4e5f-8a9b-0123456789ab";

describe("parsePodLogDir", () => {
  it("reads the kubelet's <namespace>_<pod>_<uid> names", () => {
    expect(parsePodLogDir(`prod_vireo-web-x1.y_${UID_A}`)).toEqual({
      namespace: "prod",
      pod: "vireo-web-x1.y",
      uid: UID_A,
    });
  });
  it.each([`prod_a_b_${UID_A}`, `Prod_a_${UID_A}`, "prod_a_not-a-uid", `prod__${UID_A}`, "."])(
    "refuses %j",
    (e) => {
      expect(parsePodLogDir(e)).toBeUndefined();
    },
  );
});

describe("metricsTargets", () => {
  it("pairs pod directories with the log directory naming them; the socket is in the pod's own run volume", () => {
    const targets = metricsTargets(
      "/k/pods/",
      [UID_B, UID_A, "not-a-uid"],
      [`prod_web_${UID_A}`, `dev_db_${UID_B}`, "junk"],
      "metrics.sock",
    );
    expect(targets).toEqual([
      {
        uid: UID_A,
        namespace: "prod",
        pod: "web",
        socketPath: `/k/pods/${UID_A}/volumes/kubernetes.io~empty-dir/run/metrics.sock`,
      },
      {
        uid: UID_B,
        namespace: "dev",
        pod: "db",
        socketPath: `/k/pods/${UID_B}/volumes/kubernetes.io~empty-dir/run/metrics.sock`,
      },
    ]);
  });
  it("skips a pod no log directory names, and a UID two log directories claim", () => {
    expect(metricsTargets("/p", [UID_A, UID_B], [`a_x_${UID_A}`, `b_y_${UID_A}`], "m")).toEqual([]);
  });
});
