/**
 * The kubelet's pod-resources API (v1 `List` on /var/lib/kubelet/pod-resources/kubelet.sock), loaded at
 * run time from `proto/podresources.proto` with @grpc/proto-loader, as api.ts loads the device-plugin API.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { NetsetupError } from "./errors.ts";
import type { PodResourcesList } from "./identity.ts";

/** The kubelet's default pod-resources socket. */
export const DEFAULT_POD_RESOURCES_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock";

function protoPath(): string {
  const candidates = [
    fileURLToPath(new URL("./proto/podresources.proto", import.meta.url)),
    fileURLToPath(new URL("../../../deviceplugin/netsetup/proto/podresources.proto", import.meta.url)),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new NetsetupError("KUBELET_UNAVAILABLE", `podresources.proto not found (${candidates.join(", ")})`);
  return found;
}

let lister: ServiceClientConstructor | undefined;

/** The loaded PodResourcesLister service (servers in tests use its `.service`). */
export function podResourcesLister(): ServiceClientConstructor {
  if (lister) return lister;
  const definition = loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true });
  lister = (loadPackageDefinition(definition)["v1"] as GrpcObject)[
    "PodResourcesLister"
  ] as ServiceClientConstructor;
  return lister;
}

/** Asks the kubelet which devices every pod's containers hold (one call; 5 s deadline). */
export async function listPodResources(socketPath = DEFAULT_POD_RESOURCES_SOCKET): Promise<PodResourcesList> {
  const Client = podResourcesLister();
  const client = new Client(`unix://${socketPath}`, credentials.createInsecure());
  try {
    return await new Promise<PodResourcesList>((resolve, reject) =>
      (
        client as unknown as {
          List: (r: object, o: object, cb: (e: ServiceError | null, v: PodResourcesList) => void) => void;
        }
      ).List({}, { deadline: Date.now() + 5_000 }, (err, value) =>
        err
          ? reject(
              new NetsetupError(
                "KUBELET_UNAVAILABLE",
                `pod-resources List on ${socketPath}: ${err.message}`,
                { cause: err },
              ),
            )
          : resolve(value),
      ),
    );
  } finally {
    client.close();
  }
}
