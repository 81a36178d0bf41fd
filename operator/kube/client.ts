/**
 * The operator's door to the shared Kubernetes client (lib/kube): the keep-alive JSON client and its one error
 * type, re-exported so the operator's rooms keep one import path for them.
 */
export { KubeClient, PATCH, type RequestObserver, type RequestOptions } from "../../lib/kube/client.ts";
