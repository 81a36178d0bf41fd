/**
 * `vireo vnc`: a local TCP listener whose every connection is a port-forward to the VNC server that QEMU
 * runs on the launcher pod's loopback (`-vnc 127.0.0.1:0`, so port 5900: `VNC_PORT` in crds/contract).
 * Port-forward, unlike exec, needs no helper in the pod: the kubelet connects to the pod's localhost.
 */
import { createServer, type Server, type Socket } from "node:net";
import { type KubeConfig, PortForward } from "@kubernetes/client-node";
import { VNC_PORT } from "../../crds/contract/index.ts";
import { ClusterCliError } from "./errors.ts";
import type { VmClient } from "./kube.ts";
import { runningLauncherPod } from "./launcher-exec.ts";

/** A running local VNC proxy. */
export interface VncProxy {
  /** The local address and port a viewer connects to. */
  address: string;
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts the local listener for a VM with VNC enabled and a running launcher pod. */
export async function startVncProxy(
  kc: KubeConfig,
  client: VmClient,
  namespace: string,
  name: string,
  listen: { address: string; port: number },
  onError: (message: string) => void,
): Promise<VncProxy & { pod: string }> {
  const vm = await client.getVm(namespace, name);
  if (vm.spec?.devices?.vnc !== true) {
    throw new ClusterCliError(
      "NO_VNC",
      `VM ${name} has no VNC display; set spec.devices.vnc: true, then vireo restart ${name}`,
    );
  }
  const pod = await runningLauncherPod(client, vm);
  const podName = pod.metadata?.name ?? "";
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    new PortForward(kc)
      .portForward(namespace, podName, [VNC_PORT], socket, null, socket)
      .then((ws) => {
        if (typeof ws === "function") return;
        ws.on("close", () => socket.end());
        socket.once("close", () => ws.close());
      })
      .catch((err: unknown) => {
        const msg = (err as Error)?.message ?? String(err);
        onError(
          /\b403\b/.test(msg)
            ? `port-forward to pod ${podName} in namespace ${namespace} is forbidden: vireo vnc needs "create" on pods/portforward there`
            : `port-forward to pod ${podName} failed: ${msg}`,
        );
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new ClusterCliError("USAGE", `cannot listen on ${listen.address}:${listen.port}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen(listen.port, listen.address, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : listen.port;
  return {
    address: listen.address,
    port,
    pod: podName,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
