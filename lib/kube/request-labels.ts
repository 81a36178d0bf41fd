/** Labels of an API request (the operator's `vireo_operator_api_request_duration_seconds`): verb, resource, code. */

/** The Kubernetes verb, resource (with subresource) and outcome of one request. */
export interface RequestLabels {
  /** get, list, watch, create, update, patch, apply, delete or deletecollection (the API server's verbs). */
  verb: string;
  /** Plural resource, with `/subresource` when one is addressed (`virtualmachines/status`). */
  resource: string;
  /** HTTP status code, or `error` when no answer came (connection failure, timeout). */
  code: string;
}

/**
 * Verb and resource of a request, from its method and path as the API server reads them. Namespaces and object
 * names are left out on purpose: they would give every VM series of its own.
 */
export function requestLabels(
  method: string,
  path: string,
  options: { watch?: boolean; apply?: boolean } = {},
): Omit<RequestLabels, "code"> {
  const segments = path.split("?")[0]!.split("/").filter(Boolean);
  // /api/v1/... (core) or /apis/<group>/<version>/...
  const rest =
    segments[0] === "api" ? segments.slice(2) : segments[0] === "apis" ? segments.slice(3) : segments;
  // namespaces/<ns>/<resource>/... is namespaced; namespaces and namespaces/<name> are the namespace itself.
  const scoped = rest[0] === "namespaces" && rest.length > 2 ? rest.slice(2) : rest;
  const [resource = "unknown", name, ...sub] = scoped;
  const named = name !== undefined;
  const verb = verbOf(method.toUpperCase(), named, options);
  return { verb, resource: sub.length ? `${resource}/${sub.join("/")}` : resource };
}

function verbOf(method: string, named: boolean, options: { watch?: boolean; apply?: boolean }): string {
  switch (method) {
    case "GET":
      return options.watch ? "watch" : named ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return options.apply ? "apply" : "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}
