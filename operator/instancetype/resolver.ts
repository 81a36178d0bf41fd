/**
 * The shell around instancetype revisions: reads a VM's instancetype and preference (live objects and pinned
 * ControllerRevisions) from the API, pins a first-used one as a revision owned by the VM, and writes its name
 * into the VM's spec. What to do with them is decided by pure code (crds/api/instancetype-revision.ts, facts.ts).
 */
import type { Logger } from "pino";
import {
  buildRevision,
  pluralOf,
  resolveReferences,
  type ProfileObject,
  type ProfileSource,
} from "../../crds/api/instancetype-revision.ts";
import { GROUP, PLURAL, VERSION } from "../../crds/api/virtual-machine.ts";
import { isApiStatus } from "../../lib/kube/errors.ts";
import { PATCH, type KubeClient } from "../../lib/kube/client.ts";
import type { VmRef } from "../kube/resources.ts";
import type { ProfileFacts } from "./facts.ts";

const enc = encodeURIComponent;

/** API paths of profiles and revisions. */
export const profilePaths = {
  profile: (kind: string, name: string, ns?: string) =>
    `/apis/${GROUP}/${VERSION}${ns ? `/namespaces/${enc(ns)}` : ""}/${pluralOf(kind)}/${enc(name)}`,
  revisions: (ns: string) => `/apis/apps/v1/namespaces/${enc(ns)}/controllerrevisions`,
  vm: (ns: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${enc(ns)}/${PLURAL}/${enc(name)}`,
};

/** A {@link ProfileSource} over the API: 404 means "does not exist". */
export class ApiProfileSource implements ProfileSource {
  constructor(readonly client: KubeClient) {}

  async profile(kind: string, name: string, ns?: string): Promise<ProfileObject | undefined> {
    return this.#get(profilePaths.profile(kind, name, ns));
  }

  async revision(ns: string, name: string): Promise<ProfileObject | undefined> {
    const rev = await this.#get<{ data?: ProfileObject }>(`${profilePaths.revisions(ns)}/${enc(name)}`);
    return rev?.data ?? (rev ? {} : undefined);
  }

  async #get<T>(path: string): Promise<T | undefined> {
    try {
      return await this.client.request<T>("GET", path);
    } catch (err) {
      if (isApiStatus(err, 404)) return undefined;
      throw err;
    }
  }
}

/** Resolves and pins a VM's instancetype and preference. */
export class ProfileResolver {
  readonly #client: KubeClient;
  readonly #source: ProfileSource;

  constructor(client: KubeClient, source: ProfileSource = new ApiProfileSource(client)) {
    this.#client = client;
    this.#source = source;
  }

  /**
   * The facts `decide` needs. A reference used for the first time is pinned: its revision is created (an
   * existing one of the same name holds the same content, its name being a digest of it) and its name is
   * merge-patched into the VM's spec. API errors other than 404 throw, for a rate-limited retry.
   */
  async resolve(
    vm: { metadata: { namespace?: string }; spec?: unknown },
    ref: VmRef,
    log: Logger,
  ): Promise<ProfileFacts> {
    const r = await resolveReferences(vm, this.#source);
    if (!r.ok) return r;
    const revisions: { instancetype?: string; preference?: string } = {};
    const patch: Record<string, { revisionName: string }> = {};
    for (const x of r.refs) {
      if (!x.unpinned) continue;
      const rev = buildRevision(ref, x.unpinned, x.profile) as { metadata: { name: string } };
      try {
        await this.#client.request("POST", profilePaths.revisions(ref.namespace), {
          body: rev,
          query: { fieldManager: "vireo-operator" },
        });
        log.info({ revision: rev.metadata.name, [x.field]: x.profile.name }, "pinned a revision");
      } catch (err) {
        if (!isApiStatus(err, 409)) throw err;
      }
      revisions[x.field] = rev.metadata.name;
      patch[x.field] = { revisionName: rev.metadata.name };
    }
    if (Object.keys(patch).length)
      await this.#client.request("PATCH", profilePaths.vm(ref.namespace, ref.name), {
        body: { metadata: { uid: ref.uid }, spec: patch },
        contentType: PATCH.merge,
        query: { fieldManager: "vireo-operator" },
      });
    return { ok: true, inputs: r.inputs, revisions };
  }
}
