/** The Vireo API: one zod schema from which types, validation and the CRD all come. */
export * from "./virtual-machine.ts";
export * from "./spec.ts";
export * from "./status.ts";
export * from "./validate.ts";
export * from "./quantity.ts";
export { BINDINGS, MAC_PATTERN } from "./network.ts";
export { VOLUME_SOURCES } from "./storage.ts";
export { SPECIAL_CPU_MODELS } from "./compute.ts";
export * from "./migration.ts";
