/** The launcher config contract shared by the operator and the launcher. */
export * from "./config.ts";
export * from "./from-vm.ts";
export * from "./mac.ts";
