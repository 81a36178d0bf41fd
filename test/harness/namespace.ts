import { randomBytes } from "node:crypto";
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

/** A namespace a test made, and how to get rid of it. */
export interface TestNamespace {
  /** Its name: the prefix plus a random suffix. */
  name: string;
  /** Deletes it (a missing namespace is fine). */
  delete(): Promise<void>;
}

function ignoreStatus(err: unknown, code: number): void {
  if (!(err instanceof ApiException && err.code === code)) throw err;
}

/**
 * Creates a namespace with a random suffix, plus its `default` ServiceAccount. The harness runs no
 * controller-manager, so nothing else would create that ServiceAccount, and the ServiceAccount admission
 * plugin refuses pods in a namespace without it. On a real cluster the controller may win the race; a
 * conflict is fine.
 *
 * Deleting leaves the namespace Terminating on the harness's control plane (no namespace controller to
 * finalize it); delete what you made inside it first.
 */
export async function createTestNamespace(kc: KubeConfig, prefix = "vireo-test"): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await core.createNamespace({ body: { metadata: { name, labels: { "vireo.dev/test": "true" } } } });
  try {
    await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: "default" } } });
  } catch (err) {
    ignoreStatus(err, 409);
  }
  return {
    name,
    async delete() {
      try {
        await core.deleteNamespace({ name });
      } catch (err) {
        ignoreStatus(err, 404);
      }
    },
  };
}
