/**
 * @vireo/api — the Vireo VirtualMachine API (group vireo.dev, version v1alpha1) as a TypeScript library.
 *
 * The same zod schemas the operator, the CLI and the generated CRD come from: `virtualMachineSchema` and its
 * parts, the inferred types (`VirtualMachine`, `VirtualMachineInput`, `VmSpec`, `VmStatus`),
 * `validateVirtualMachine` (every problem with its field path), and builders that apply the defaults.
 *
 * @packageDocumentation
 */
export * from "../../crds/api/index.ts";
export { specDefaults, virtualMachine, type VmMetadataInput } from "./build.ts";
