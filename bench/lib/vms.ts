/** VirtualMachine objects and requests for the control-plane sections. */
import type { KubeClient } from "../../lib/kube/client.ts";
import { PATCH } from "../../lib/kube/client.ts";

const VMS = (ns: string) => `/apis/vireo.dev/v1alpha1/namespaces/${ns}/virtualmachines`;

/**
 * A typical VM as users write it (the cloud-init + containerDisk example): 1 vCPU, 1 GiB, a bridge NIC on the
 * pod network. Its launcher pod carries the init containers and the launcher config a real one does.
 */
export function typicalVm(name: string, runStrategy: "Always" | "Halted" = "Always"): unknown {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name },
    spec: {
      runStrategy,
      cpu: { cores: 1 },
      memory: { guest: "1Gi" },
      disks: [{ name: "root", bootOrder: 1 }, { name: "cloudinit" }],
      volumes: [
        { name: "root", containerDisk: { image: "quay.io/containerdisks/debian:12" } },
        { name: "cloudinit", cloudInitNoCloud: { userData: "#cloud-config\npassword: vireo\n" } },
      ],
      interfaces: [{ name: "default", binding: "bridge" }],
      networks: [{ name: "default", pod: {} }],
    },
  };
}

/** Creates a VM. */
export function createVm(client: KubeClient, ns: string, name: string, runStrategy?: "Always" | "Halted") {
  return client.request("POST", VMS(ns), { body: typicalVm(name, runStrategy) });
}

/** Sets a VM's runStrategy (JSON merge patch, as `vireo start/stop` does). */
export function setRunStrategy(
  client: KubeClient,
  ns: string,
  name: string,
  runStrategy: "Always" | "Halted",
) {
  return client.request("PATCH", `${VMS(ns)}/${name}`, {
    contentType: PATCH.merge,
    body: { spec: { runStrategy } },
  });
}

/** Deletes one VM (the operator then stops its pod and releases its finalizer); gone already is fine. */
export async function deleteVm(client: KubeClient, ns: string, name: string): Promise<void> {
  try {
    await client.request("DELETE", `${VMS(ns)}/${name}`);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
}

/** Names of the VMs in a namespace. */
export async function vmNames(client: KubeClient, ns: string): Promise<string[]> {
  const list = await client.request<{ items: { metadata: { name: string } }[] }>("GET", VMS(ns), {
    timeoutMs: 120_000,
  });
  return list.items.map((v) => v.metadata.name);
}

/** How many VMs and launcher pods the namespace holds (one list each). */
export async function counts(
  client: KubeClient,
  ns: string,
): Promise<{ vms: number; pods: number; podOwners: Map<string, number>; vmsWithStatus: number }> {
  const vms = await client.request<{ items: { status?: { launcherPod?: string } }[] }>("GET", VMS(ns), {
    timeoutMs: 120_000,
  });
  const pods = await client.request<{ items: { metadata?: { ownerReferences?: { uid?: string }[] } }[] }>(
    "GET",
    `/api/v1/namespaces/${ns}/pods`,
    { query: { labelSelector: "vireo.dev/vm" }, timeoutMs: 120_000 },
  );
  const podOwners = new Map<string, number>();
  for (const p of pods.items) {
    const uid = p.metadata?.ownerReferences?.[0]?.uid ?? "";
    podOwners.set(uid, (podOwners.get(uid) ?? 0) + 1);
  }
  return {
    vms: vms.items.length,
    pods: pods.items.length,
    podOwners,
    vmsWithStatus: vms.items.filter((v) => v.status?.launcherPod).length,
  };
}

/** Deletes what is left in the namespace and the namespace (nothing is garbage-collected here). */
export async function dropNamespace(client: KubeClient, ns: string): Promise<void> {
  await client
    .request("DELETE", `/api/v1/namespaces/${ns}/pods`, {
      query: { gracePeriodSeconds: 0 },
      timeoutMs: 300_000,
    })
    .catch(() => {});
  await client.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => {});
}
