import { describe, expect, it } from "vitest";
import { pausedAnnotationPatch } from "./pause-mark.ts";
import { ANNOTATION_PAUSED } from "../../crds/contract/index.ts";
import type { VmView } from "./vm-view.ts";

function vm(annotations?: Record<string, string>): VmView {
  return {
    metadata: { name: "web", namespace: "ns", resourceVersion: "7", ...(annotations ? { annotations } : {}) },
    spec: {},
    status: {},
  } as VmView;
}

describe("pausedAnnotationPatch", () => {
  it("pause sets the annotation to the uid of the paused launcher pod", () => {
    expect(pausedAnnotationPatch(vm(), "pause", "uid-1")).toEqual({
      metadata: { annotations: { [ANNOTATION_PAUSED]: "uid-1" } },
    });
    // A mark left by an earlier pod (or an old-style "true") is replaced by one for this pod.
    for (const old of ["true", "uid-0"])
      expect(pausedAnnotationPatch(vm({ [ANNOTATION_PAUSED]: old }), "pause", "uid-1")).toEqual({
        metadata: { annotations: { [ANNOTATION_PAUSED]: "uid-1" } },
      });
    expect(() => pausedAnnotationPatch(vm(), "pause")).toThrow(/uid/);
  });

  it("unpause removes the annotation with a null, whatever its value", () => {
    expect(pausedAnnotationPatch(vm({ [ANNOTATION_PAUSED]: "true" }), "unpause")).toEqual({
      metadata: { annotations: { [ANNOTATION_PAUSED]: null } },
    });
    expect(pausedAnnotationPatch(vm({ [ANNOTATION_PAUSED]: "yes" }), "unpause")).toEqual({
      metadata: { annotations: { [ANNOTATION_PAUSED]: null } },
    });
  });

  it("changes nothing when the VM already says so", () => {
    expect(
      pausedAnnotationPatch(vm({ [ANNOTATION_PAUSED]: "uid-1", other: "x" }), "pause", "uid-1"),
    ).toBeUndefined();
    expect(pausedAnnotationPatch(vm({ other: "x" }), "unpause")).toBeUndefined();
    expect(pausedAnnotationPatch(vm(), "unpause")).toBeUndefined();
  });
});
