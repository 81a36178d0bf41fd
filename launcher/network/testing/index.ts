/** Fixtures for the network integration tests (namespaces, processes, guest boot). Not used by the launcher. */
export * from "./config.ts";
export * from "./devices.ts";
export * from "./guest.ts";
export * from "./process.ts";
export * from "./sides.ts";
export * from "./topology.ts";
