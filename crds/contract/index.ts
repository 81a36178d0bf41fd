/**
 * The contract room: everything the operator, the launcher, the CLI and the device plugin must agree on —
 * object names, labels and annotations, names inside the pod, extended resources, the launcher's exit codes
 * and termination message, the control-socket protocol. Pure data and pure functions; imports only the API.
 */
export * from "./control.ts";
export * from "./datavolume.ts";
export * from "./exit.ts";
export * from "./metadata.ts";
export * from "./pod-layout.ts";
export * from "./node-netsetup.ts";
export * from "./resources.ts";
export * from "./disk-image.ts";
export * from "./migration.ts";
export * from "./guest-agent.ts";
