/** The one call a plugin makes to the kubelet: Register on kubelet.sock. */
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { loadDevicePluginApi, type RegisterRequest } from "./api.ts";
import { DevicePluginError } from "./errors.ts";

/** Registers one resource with the kubelet listening on `kubeletSocketPath`; rejects with REGISTER_FAILED. */
export async function registerWithKubelet(
  kubeletSocketPath: string,
  request: RegisterRequest,
  timeoutMs = 10_000,
): Promise<void> {
  const { RegistrationClient } = loadDevicePluginApi();
  const client = new RegistrationClient(`unix://${kubeletSocketPath}`, credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) => {
      const register = client["Register"] as (
        req: RegisterRequest,
        options: { deadline: Date },
        cb: (err: ServiceError | null) => void,
      ) => void;
      register.call(client, request, { deadline: new Date(Date.now() + timeoutMs) }, (err) => {
        if (!err) return resolve();
        reject(
          new DevicePluginError(
            "REGISTER_FAILED",
            `registering ${request.resource_name} with the kubelet at ${kubeletSocketPath} failed: ${err.details || err.message}`,
            { cause: err },
          ),
        );
      });
    });
  } finally {
    client.close();
  }
}
