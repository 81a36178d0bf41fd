/** Launcher networking: plan the pod network into guest NICs, apply it, start the DHCP/passt helpers. */
export * from "./errors.ts";
export * from "./facts.ts";
export * from "./plan-types.ts";
export { planNetwork, planNeedsPrivilege, bridgeName, POD_INTERFACE } from "./plan.ts";
export { commandHost, type NetHost, type CommandHostOptions } from "./host.ts";
export { applyPlan } from "./apply.ts";
export { setupPodNetwork, type SetupDeps, type SetupResult } from "./setup.ts";
export { startNetwork, type StartDeps, type StartedNetwork, type NetworkService } from "./start.ts";
export type { ChildService } from "./service.ts";
export { readNetworkState, networkStatePath, type NetworkState } from "./state-file.ts";
