// The integration-test harness: a real etcd + kube-apiserver on loopback, or a developer's cluster.
// The vitest hook helper lives in ./vitest.ts, apart, so scripts can use the harness outside vitest.
export { binDir, parsePinnedVersions, pinnedVersions, resolveBinary, versionsFile } from "./binaries.ts";
export type { BinaryName, PinnedVersions } from "./binaries.ts";
export { helm, kubectl, runBinary } from "./commands.ts";
export type { CommandOptions, CommandResult } from "./commands.ts";
export { startControlPlane } from "./controlplane.ts";
export type { ControlPlane, ControlPlaneOptions } from "./controlplane.ts";
export * from "./errors.ts";
export { externalClusterRequested } from "./external.ts";
export { serviceAccountKubeconfig } from "./kubeconfig.ts";
export type { Identity, ServiceAccountKubeconfigOptions } from "./kubeconfig.ts";
export { createTestNamespace } from "./namespace.ts";
export type { TestNamespace } from "./namespace.ts";
export { eventually } from "./eventually.ts";
export type { EventuallyOptions } from "./eventually.ts";
