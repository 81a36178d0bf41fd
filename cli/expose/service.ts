/**
 * `vireo expose vm`'s core, pure: a Service that selects a VM's launcher pod (as virtctl expose selects the
 * VMI's pod). The selector is the VM-name label and the launcher component label of launcherPodLabels
 * (operator/pod/build.ts), so it matches the VM's launcher pod and no other VM's pods.
 */
import type { V1Service } from "@kubernetes/client-node";
import { LABEL_VM } from "../../crds/contract/index.ts";

/** Service types `vireo expose` makes. */
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;

/** A bad flag of `vireo expose`. */
export class ExposeError extends Error {
  /** Stable code. */
  readonly code = "EXPOSE_USAGE";
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`${flag}: ${message}`);
    this.name = "ExposeError";
  }
}

/** What to expose. Strings as typed; buildService checks them. */
export interface ExposeOptions {
  vm: string;
  namespace: string;
  port: string | undefined;
  targetPort?: string | undefined;
  name?: string | undefined;
  type?: string | undefined;
  protocol?: string | undefined;
}

/** The label selector of a VM's launcher pod. */
export function launcherSelector(vm: string): Record<string, string> {
  return { [LABEL_VM]: vm, "app.kubernetes.io/component": "launcher" };
}

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function port(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535)
    throw new ExposeError(flag, `must be a port number 1-65535, got "${text}"`);
  return n;
}

/** The Service for `opts`; throws ExposeError naming the flag. */
export function buildService(opts: ExposeOptions): V1Service {
  if (opts.port === undefined) throw new ExposeError("--port", "is required: the Service's port");
  const p = port("--port", opts.port);
  const target = opts.targetPort === undefined ? p : port("--target-port", opts.targetPort);
  const type = opts.type ?? "ClusterIP";
  if (!(SERVICE_TYPES as readonly string[]).includes(type))
    throw new ExposeError("--type", `must be ${SERVICE_TYPES.join(", ")}; got "${type}"`);
  const protocol = opts.protocol ?? "TCP";
  if (!["TCP", "UDP", "SCTP"].includes(protocol))
    throw new ExposeError("--protocol", `must be TCP, UDP or SCTP; got "${protocol}"`);
  const name = opts.name ?? opts.vm;
  if (!DNS1035.test(name) || name.length > 63)
    throw new ExposeError(
      opts.name === undefined ? "--name" : "--name",
      `Service name "${name}" must be a DNS-1035 label (a lowercase letter first, at most 63 characters); pass --name`,
    );
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: opts.namespace,
      labels: {
        [LABEL_VM]: opts.vm,
        "app.kubernetes.io/part-of": "vireo",
        "app.kubernetes.io/managed-by": "vireo-cli",
      },
    },
    spec: {
      type,
      selector: launcherSelector(opts.vm),
      ports: [{ name: `port-${p}`, port: p, targetPort: target, protocol }],
    },
  };
}
