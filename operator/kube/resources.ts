/** The API calls the operator makes, by resource: paths, verbs and content types in one place. */
import type { CoreV1Event, V1Lease, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../crds/api/virtual-machine.ts";
import type { VmStatus } from "../../crds/api/status.ts";
import { FIELD_MANAGER, FINALIZER } from "../../crds/contract/index.ts";
import { PATCH, type KubeClient } from "../../lib/kube/client.ts";
import { isApiStatus } from "../../lib/kube/errors.ts";
import { resourcePath } from "../../lib/kube/paths.ts";

const enc = encodeURIComponent;

/** Collection paths, cluster-wide or in one namespace. */
export const paths = {
  vms: (ns?: string) => resourcePath({ group: GROUP, version: VERSION, plural: PLURAL }, ns || undefined),
  pods: (ns?: string) => resourcePath({ version: "v1", plural: "pods" }, ns || undefined),
  pvcs: (ns?: string) => resourcePath({ version: "v1", plural: "persistentvolumeclaims" }, ns || undefined),
  events: (ns: string) => resourcePath({ version: "v1", plural: "events" }, ns),
  leases: (ns: string) => resourcePath({ group: "coordination.k8s.io", version: "v1", plural: "leases" }, ns),
};

/** A VM object reference for writes. */
export interface VmRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Typed operations over {@link KubeClient}. */
export class KubeResources {
  constructor(readonly client: KubeClient) {}

  /** Creates a pod (the API server refuses a duplicate name with 409 AlreadyExists). */
  createPod(pod: V1Pod): Promise<V1Pod> {
    const ns = pod.metadata?.namespace ?? "default";
    return this.client.request("POST", paths.pods(ns), { body: pod, query: { fieldManager: FIELD_MANAGER } });
  }

  /** Reads a pod from the API (not the cache: it also finds pods without our labels); undefined on 404. */
  async getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.client.request<V1Pod>("GET", `${paths.pods(namespace)}/${enc(name)}`);
    } catch (err) {
      if (isApiStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** Deletes a pod only if it is still the one with `uid`. */
  deletePod(namespace: string, name: string, uid: string): Promise<unknown> {
    return this.client.request("DELETE", `${paths.pods(namespace)}/${enc(name)}`, {
      body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid } },
    });
  }

  /** Creates a PVC (the API server refuses a duplicate name with 409 AlreadyExists). */
  createPvc(pvc: V1PersistentVolumeClaim): Promise<V1PersistentVolumeClaim> {
    const ns = pvc.metadata?.namespace ?? "default";
    return this.client.request("POST", paths.pvcs(ns), { body: pvc, query: { fieldManager: FIELD_MANAGER } });
  }

  /** Deletes a PVC only if it is still the one with `uid`. */
  deletePvc(namespace: string, name: string, uid: string): Promise<unknown> {
    return this.client.request("DELETE", `${paths.pvcs(namespace)}/${enc(name)}`, {
      body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid } },
    });
  }

  /**
   * Writes the VM's status by server-side apply through the status subresource: the operator owns the whole
   * status, so fields it leaves out are removed. The uid guards against writing to a re-created namesake.
   */
  applyVmStatus(vm: VmRef, status: VmStatus): Promise<{ metadata?: { resourceVersion?: string } }> {
    return this.client.request("PATCH", `${paths.vms(vm.namespace)}/${enc(vm.name)}/status`, {
      contentType: PATCH.apply,
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: vm.name, namespace: vm.namespace, uid: vm.uid },
        status,
      },
    });
  }

  /**
   * Adds or removes the operator's finalizer by server-side apply: finalizers are a set, so this touches only
   * the entry the operator owns and never races a user's or GitOps tool's own finalizers.
   */
  applyFinalizer(vm: VmRef, present: boolean): Promise<unknown> {
    return this.client.request("PATCH", `${paths.vms(vm.namespace)}/${enc(vm.name)}`, {
      contentType: PATCH.apply,
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: {
          name: vm.name,
          namespace: vm.namespace,
          uid: vm.uid,
          finalizers: present ? [FINALIZER] : [],
        },
      },
    });
  }

  /** Records a core/v1 Event. */
  createEvent(event: CoreV1Event): Promise<unknown> {
    return this.client.request("POST", paths.events(event.metadata?.namespace ?? "default"), { body: event });
  }

  /** Reads a Lease; undefined when it does not exist. */
  async getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.client.request<V1Lease>("GET", `${paths.leases(namespace)}/${enc(name)}`);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  }

  /** Creates a Lease (409 when someone else did first). */
  createLease(lease: V1Lease): Promise<V1Lease> {
    return this.client.request("POST", paths.leases(lease.metadata?.namespace ?? "default"), { body: lease });
  }

  /** Replaces a Lease; its resourceVersion makes this a compare-and-swap (409 on a lost race). */
  updateLease(lease: V1Lease): Promise<V1Lease> {
    const ns = lease.metadata?.namespace ?? "default";
    return this.client.request("PUT", `${paths.leases(ns)}/${enc(lease.metadata?.name ?? "")}`, {
      body: lease,
    });
  }
}
