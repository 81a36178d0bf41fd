/**
 * The kubelet's device-plugin API (v1beta1), loaded at run time from the real `proto/api.proto` with
 * @grpc/proto-loader. The message interfaces below are the subset of fields Vireo reads or writes, spelled
 * as in the .proto (`keepCase`), so a reader can check them against the file line by line.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { DevicePluginError } from "./errors.ts";

/** API version the kubelet expects in RegisterRequest. */
export const API_VERSION = "v1beta1";
/** Device health values (constants.go). */
export const HEALTHY = "Healthy";
/** Device health values (constants.go). */
export const UNHEALTHY = "Unhealthy";
/** Default directory of the kubelet's device-plugin sockets. */
export const DEFAULT_DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins";
/** The kubelet's registration socket, inside the device-plugin directory. */
export const KUBELET_SOCKET = "kubelet.sock";

/** Options sent at registration and from GetDevicePluginOptions. */
export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}

/** RegisterRequest. */
export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options?: DevicePluginOptions;
}

/** One advertised device (for Vireo: one slot of a shared host device). */
export interface Device {
  ID: string;
  health: string;
}

/** ListAndWatchResponse. */
export interface ListAndWatchResponse {
  devices: Device[];
}

/** AllocateRequest. */
export interface AllocateRequest {
  container_requests: { devices_ids: string[] }[];
}

/** A host device node to create in the container. */
export interface DeviceSpec {
  container_path: string;
  host_path: string;
  permissions: string;
}

/** A host directory the kubelet bind-mounts into the container (not in the pod spec). */
export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}

/** What the kubelet injects into one container. */
export interface ContainerAllocateResponse {
  envs?: Record<string, string>;
  mounts?: Mount[];
  devices: DeviceSpec[];
  annotations?: Record<string, string>;
}

/** AllocateResponse. */
export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}

/** Where the .proto is: beside this file in a checkout, or under the package root beside dist/ in an image. */
function protoPath(): string {
  const candidates = [
    fileURLToPath(new URL("./proto/api.proto", import.meta.url)),
    fileURLToPath(new URL("../../deviceplugin/proto/api.proto", import.meta.url)),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new DevicePluginError(
      "PROTO_MISSING",
      `device-plugin api.proto not found (looked in ${candidates.join(", ")})`,
    );
  }
  return found;
}

/** The loaded v1beta1 package: service definitions for servers and client constructors. */
export interface DevicePluginApi {
  /** DevicePlugin service (served by plugins, called by the kubelet). */
  devicePluginService: ServiceDefinition;
  /** Registration service (served by the kubelet, called by plugins). */
  registrationService: ServiceDefinition;
  /** Client constructor for Registration. */
  RegistrationClient: ServiceClientConstructor;
  /** Client constructor for DevicePlugin (the kubelet's side; used by tests). */
  DevicePluginClient: ServiceClientConstructor;
}

let cached: DevicePluginApi | undefined;

/** Loads (once) the real v1beta1 protobuf definitions. */
export function loadDevicePluginApi(): DevicePluginApi {
  if (cached) return cached;
  // keepCase: field names as in the .proto; defaults: absent repeated fields read as [] and bools as false.
  const definition = loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true });
  const pkg = loadPackageDefinition(definition)["v1beta1"] as GrpcObject;
  const DevicePluginClient = pkg["DevicePlugin"] as ServiceClientConstructor;
  const RegistrationClient = pkg["Registration"] as ServiceClientConstructor;
  cached = {
    devicePluginService: DevicePluginClient.service,
    registrationService: RegistrationClient.service,
    RegistrationClient,
    DevicePluginClient,
  };
  return cached;
}
