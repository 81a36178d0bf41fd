import { afterAll, beforeAll } from "vitest";
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "./controlplane.ts";

/**
 * One control plane for the calling test file: started in beforeAll, stopped in afterAll. Returns a getter
 * because the value exists only once beforeAll has run.
 *
 * @example
 * const cp = useControlPlane();
 * it("lists namespaces", async () => { await cp().kubectl(["get", "ns"]); });
 */
export function useControlPlane(options?: ControlPlaneOptions): () => ControlPlane {
  let controlPlane: ControlPlane | undefined;
  beforeAll(async () => {
    controlPlane = await startControlPlane(options);
  }, 300_000);
  afterAll(async () => {
    await controlPlane?.stop();
  }, 60_000);
  return () => {
    if (controlPlane === undefined)
      throw new Error("the control plane is not started: use it inside a test or hook");
    return controlPlane;
  };
}
