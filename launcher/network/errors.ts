/** Stable codes for every way pod networking can fail. */
export type NetworkErrorCode =
  /** The pod has no `eth0` (or the interface a network needs is missing). */
  | "NO_POD_INTERFACE"
  /** The binding cannot serve the pod interface's address family (e.g. an IPv6-only pod with bridge). */
  | "FAMILY_UNSUPPORTED"
  /** A declared port is the launcher's own port, or is declared twice. */
  | "PORT_CLASH"
  /** The guest subnet is not a usable IPv4 network. */
  | "CIDR_INVALID"
  /** The guest subnet overlaps an address or route of the pod. */
  | "CIDR_OVERLAP"
  /** More than one interface asks for the pod network, or a binding the network kind cannot use. */
  | "BINDING_UNSUPPORTED"
  /** A Multus network is not in the pod's network-status annotation (or the annotation is absent). */
  | "MULTUS_NETWORK_NOT_FOUND"
  /** Facts read from the pod (addresses, routes, annotation, state file) are malformed or inconsistent. */
  | "FACTS_INVALID"
  /** A host command (`ip`, `nft`, `sysctl`) failed while applying the plan. */
  | "APPLY_FAILED"
  /** The launcher found no completed network setup although the plan needs one (netsetup did not run). */
  | "NOT_SET_UP"
  /** A helper process (passt) did not start. */
  | "SERVICE_FAILED";

/** Optional details of a {@link NetworkError}. */
export interface NetworkErrorDetails {
  /** Field path into the launcher config, e.g. `interfaces[0].ports[1]`. */
  field?: string;
  /** The underlying error. */
  cause?: unknown;
}

/** A networking failure: a stable `code`, the config field it concerns and the underlying cause. */
export class NetworkError extends Error {
  /** Stable machine-readable code. */
  readonly code: NetworkErrorCode;
  /** Field path into the launcher config, when the error is about one. */
  readonly field: string | undefined;

  constructor(code: NetworkErrorCode, message: string, details: NetworkErrorDetails = {}) {
    super(
      details.field ? `${details.field}: ${message}` : message,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = "NetworkError";
    this.code = code;
    this.field = details.field;
  }
}
