import { describe, expect, it } from "vitest";
import { ANNOTATION_PAUSED, pausedAnnotationPatch } from "./pause-mark.ts";
import type { VmView } from "./vm-view.ts";

function vm(annotations?: Record<string, string>): VmView {
  return {
    metadata: { name: "web", namespace: "ns", resourceVersion: "7", ...(annotations ? { annotations } : {}) },
    spec: {},
    status: {},
  } as VmView;
}

describe("pausedAnnotationPatch", () => {
  it("pause sets the annotation to true", () => {
    expect(pausedAnnotationPatch(vm(), "pause")).toEqual({
      metadata: { annotations: { [ANNOTATION_PAUSED]: "true" } },
    });
    expect(pausedAnnotationPatch(vm({ [ANNOTATION_PAUSED]: "false" }), "pause")).toEqual({
      metadata: { annotations: { [ANNOTATION_PAUSED]: "true" } },
    });
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
    expect(pausedAnnotationPatch(vm({ [ANNOTATION_PAUSED]: "true", other: "x" }), "pause")).toBeUndefined();
    expect(pausedAnnotationPatch(vm({ other: "x" }), "unpause")).toBeUndefined();
    expect(pausedAnnotationPatch(vm(), "unpause")).toBeUndefined();
  });
});
