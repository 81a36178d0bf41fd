/** A ProfileSource over the cluster (for `vireo expand VM`): live profiles and pinned ControllerRevisions. */
import type { KubeConfig } from "@kubernetes/client-node";
import { pluralOf, type ProfileObject, type ProfileSource } from "../../crds/api/instancetype-revision.ts";
import { GROUP, VERSION } from "../../crds/api/virtual-machine.ts";
import { resourcePath } from "../../lib/kube/paths.ts";
import { ClusterClient } from "../cluster/kube.ts";

/** Reads profiles and revisions with the user's credentials; 404 means "does not exist". */
export class ClusterProfileSource implements ProfileSource {
  readonly #api: ClusterClient;

  constructor(kc: KubeConfig) {
    this.#api = new ClusterClient(kc);
  }

  profile(kind: string, name: string, namespace?: string): Promise<ProfileObject | undefined> {
    const path = resourcePath({ group: GROUP, version: VERSION, plural: pluralOf(kind) }, namespace, name);
    return this.#api.getIfExists(`get ${kind} ${name}`, path);
  }

  async revision(namespace: string, name: string): Promise<ProfileObject | undefined> {
    const path = resourcePath(
      { group: "apps", version: "v1", plural: "controllerrevisions" },
      namespace,
      name,
    );
    const rev = await this.#api.getIfExists<{ data?: unknown }>(`get ControllerRevision ${name}`, path);
    return rev ? ((rev.data ?? {}) as ProfileObject) : undefined;
  }
}
