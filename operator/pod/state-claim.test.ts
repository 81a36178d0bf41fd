import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { stateClaimName } from "../../crds/contract/index.ts";
import { launcherConfigFromVm } from "../../crds/launcher/from-vm.ts";
import { buildStateClaim, needsStateClaim, stateClaimPlumbing } from "./state-claim.ts";

// Beside the pod goldens, not among them: test/golden/operator holds pods only (an integration test dry-runs each).
const goldenDir = join(dirname(fileURLToPath(import.meta.url)), "../../test/golden/state-claim");
const update = process.env.UPDATE_GOLDEN === "1";

const vm = (spec: Record<string, unknown>) =>
  parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "web", namespace: "prod", uid: "0a1b2c3d-uid" },
    spec: { memory: { guest: "1Gi" }, ...spec },
  });

const golden = (name: string, text: string) => {
  const file = join(goldenDir, `${name}.yaml`);
  if (update || !existsSync(file)) {
    if (!update) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1`);
    writeFileSync(file, text);
  }
  expect(text).toBe(readFileSync(file, "utf8"));
};

describe("buildStateClaim", () => {
  it("golden: a persistent-UEFI VM in a named storage class", () => {
    const v = vm({ firmware: { uefi: { persistent: true } }, stateStorage: { storageClassName: "fast" } });
    golden("persistent-uefi", stringify(buildStateClaim(v), { lineWidth: 0 }));
  });

  it("leaves the storage class to the cluster default when none is named", () => {
    const claim = buildStateClaim(vm({ firmware: { uefi: { persistent: true } } }));
    expect(claim.spec).not.toHaveProperty("storageClassName");
    expect(claim.metadata?.name).toBe(stateClaimName("web"));
    expect(claim.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: "VirtualMachine", uid: "0a1b2c3d-uid", controller: true }),
    ]);
  });

  it("is needed only for persistent UEFI variables", () => {
    expect(needsStateClaim(vm({ firmware: { uefi: { persistent: true } } }))).toBe(true);
    expect(needsStateClaim(vm({ firmware: { uefi: {} } }))).toBe(false);
    expect(needsStateClaim(vm({}))).toBe(false);
    expect(needsStateClaim(vm({ devices: { tpm: { persistent: true } } }))).toBe(true);
    expect(needsStateClaim(vm({ devices: { tpm: {} } }))).toBe(false);
  });

  it("is named within the 253 characters of an object name for the longest VM name", () => {
    expect(stateClaimName("a".repeat(63)).length).toBeLessThanOrEqual(253);
  });
});

describe("stateClaimPlumbing", () => {
  const plumb = (spec: Record<string, unknown>) => {
    const v = vm(spec);
    return stateClaimPlumbing(v, launcherConfigFromVm(v, { allowEmulation: true, defaultBinding: "bridge" }));
  };
  it("mounts the claim for a persistent TPM without UEFI, where the TPM's state directory lives", () => {
    const p = plumb({ devices: { tpm: { persistent: true } } });
    expect(p.volumes).toEqual([
      { name: "vm-state", persistentVolumeClaim: { claimName: stateClaimName("web") } },
    ]);
    expect(p.launcherMounts).toEqual([{ name: "vm-state", mountPath: "/var/lib/vireo-state" }]);
  });
  it("mounts nothing for a TPM whose state lives with the pod", () => {
    expect(plumb({ devices: { tpm: {} } })).toEqual({ volumes: [], launcherMounts: [] });
  });
});
