// Admission parity: every manifest `vireo validate` refuses (the validation test table) is refused by the real
// API server too — by the generated CRD's schema and CEL rules, with kubectl's strict field validation — so a
// VM the API server accepts never turns out InvalidSpec later. A rule CEL cannot express is listed below with
// the reason; the test also checks that the list stays true (the API server does accept those).
import { ApiException, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base, invalidVms } from "../../crds/api/testing/invalid-vms.ts";
import { createTestNamespace, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { installCrd } from "./operator-kit.ts";

/** Cases of the table that the API server cannot refuse, and why. */
export const NOT_EXPRESSIBLE: Record<string, string> = {};

const cp = useControlPlane();
let api: CustomObjectsApi;
let ns: TestNamespace;

beforeAll(async () => {
  await installCrd(cp());
  api = cp().kubeConfig.makeApiClient(CustomObjectsApi);
  ns = await createTestNamespace(cp().kubeConfig, "parity");
});
afterAll(async () => {
  await ns?.delete();
});

interface Refusal {
  code: number;
  message: string;
  fields: string[];
}

/** Creates `manifest` with a server-side dry run, as `kubectl apply --dry-run=server` does; the refusal if any. */
async function dryRun(manifest: unknown): Promise<Refusal | undefined> {
  const body = structuredClone(manifest) as { metadata?: Record<string, unknown> };
  if (body.metadata && typeof body.metadata === "object") body.metadata.namespace = ns.name;
  try {
    await api.createNamespacedCustomObject({
      group: "vireo.dev",
      version: "v1alpha1",
      plural: "virtualmachines",
      namespace: ns.name,
      body,
      dryRun: "All",
      fieldValidation: "Strict",
    });
    return undefined;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const status = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as {
      message?: string;
      details?: { causes?: { field?: string }[] };
    };
    return {
      code: err.code,
      message: status.message ?? String(err.body),
      fields: (status.details?.causes ?? []).flatMap((c) => (c.field ? [c.field] : [])),
    };
  }
}

/** The element `vireo validate` names, or the list or object holding it (a CEL rule on the spec). */
function namesTheField(refusal: Refusal, path: string): boolean {
  const names = (field: string) =>
    field === path || (path.startsWith(field) && /^[.[]/.test(path.slice(field.length)) && field !== "spec");
  return refusal.fields.some(names) || refusal.message.includes(path);
}

describe("admission parity with vireo validate", () => {
  it("the base manifest of the table is accepted", async () => {
    expect(await dryRun(base())).toBeUndefined();
  });

  it.each(invalidVms)("%s", async (name, make, path) => {
    const refusal = await dryRun(make());
    if (NOT_EXPRESSIBLE[name]) {
      expect(refusal, `listed as not expressible: ${NOT_EXPRESSIBLE[name]}`).toBeUndefined();
      return;
    }
    expect(refusal, `the API server accepted it`).toBeDefined();
    expect([400, 422], refusal?.message).toContain(refusal!.code);
    if (path !== "apiVersion" && path !== "kind")
      expect(namesTheField(refusal!, path), `${path} in ${JSON.stringify(refusal)}`).toBe(true);
  });
});
