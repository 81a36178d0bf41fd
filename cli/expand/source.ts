/** A ProfileSource over the cluster (for `vireo expand VM`): live profiles and pinned ControllerRevisions. */
import { ApiException, AppsV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { pluralOf, type ProfileObject, type ProfileSource } from "../../crds/api/instancetype-revision.ts";
import { GROUP, VERSION } from "../../crds/api/virtual-machine.ts";

const absent = (err: unknown) => err instanceof ApiException && err.code === 404;

/** Reads profiles and revisions with the user's credentials; 404 means "does not exist". */
export class ClusterProfileSource implements ProfileSource {
  readonly #custom: CustomObjectsApi;
  readonly #apps: AppsV1Api;

  constructor(kc: KubeConfig) {
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#apps = kc.makeApiClient(AppsV1Api);
  }

  async profile(kind: string, name: string, namespace?: string): Promise<ProfileObject | undefined> {
    const base = { group: GROUP, version: VERSION, plural: pluralOf(kind), name };
    try {
      return (await (namespace === undefined
        ? this.#custom.getClusterCustomObject(base)
        : this.#custom.getNamespacedCustomObject({ ...base, namespace }))) as ProfileObject;
    } catch (err) {
      if (absent(err)) return undefined;
      throw err;
    }
  }

  async revision(namespace: string, name: string): Promise<ProfileObject | undefined> {
    try {
      const rev = await this.#apps.readNamespacedControllerRevision({ namespace, name });
      return (rev.data ?? {}) as ProfileObject;
    } catch (err) {
      if (absent(err)) return undefined;
      throw err;
    }
  }
}
