/**
 * A bridge VM in a namespace that enforces Pod Security `restricted`, on the local cluster: the chart with
 * `devicePlugin.nodeNetworkSetup.enabled`, so the launcher pod has no netsetup container and the device
 * plugin's node agent plumbs its tap (identified by SO_PEERCRED and the real kubelet's pod-resources API).
 * The guest must boot, take the pod IP by DHCP and serve HTTP at it.
 *
 * Opt-in (`VIREO_SLOW_TESTS=1`): as its own file it brings a cluster up and down (scripts/cluster/up.sh),
 * minutes on top of cluster.test.ts (here 204 s: up.sh with image builds 143 s, install + boot + HTTP 43 s,
 * down.sh 18 s); run it under `flock /tmp/vireo-cluster.lock`.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { helm, kubectl } from "../harness/commands.ts";
import { eventually } from "../harness/eventually.ts";
import { imageRefs } from "./images.ts";
import { localCluster, NODE_NAME, type LocalCluster } from "./local-cluster.ts";
import { testGuestBoot } from "./manifests.ts";

const SLOW = process.env.VIREO_SLOW_TESTS === "1";
const CHART = fileURLToPath(new URL("../../charts/vireo", import.meta.url));
const VALUES = fileURLToPath(new URL("../../scripts/cluster/values-local.yaml", import.meta.url));
const RELEASE_NS = "vireo-system";
const CLUSTER_DIR = process.env.VIREO_CLUSTER_DIR ?? "/var/lib/vireo-cluster";
const rand = Math.random().toString(16).slice(2, 8);
const NS = `vireo-restricted-${rand}`;
const VM = "bridged";
const POD = `vireo-launcher-${VM}`;

describe.skipIf(!SLOW).sequential("a bridge VM under Pod Security restricted (node network setup)", () => {
  let cluster: LocalCluster;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let releaseWasThere = false;
  const k = (args: string[], input?: string) =>
    kubectl(args, cluster.kubeconfigPath, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });

  beforeAll(async () => {
    cluster = await localCluster();
    const images = await imageRefs();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    releaseWasThere =
      (await helm(["status", "vireo", "-n", RELEASE_NS], cluster.kubeconfigPath, { check: false }))
        .exitCode === 0;
    const args = [
      "upgrade",
      "--install",
      "vireo",
      CHART,
      "-n",
      RELEASE_NS,
      "--create-namespace",
      "-f",
      VALUES,
    ];
    args.push("--set", `devicePlugin.nodeDir=${CLUSTER_DIR}/device-nodes`);
    args.push("--set", "devicePlugin.nodeNetworkSetup.enabled=true");
    args.push("--set", `devicePlugin.nodeNetworkSetup.dir=${CLUSTER_DIR}/netsetup`);
    args.push("--set", `devicePlugin.nodeNetworkSetup.stateDir=${CLUSTER_DIR}/netsetup-state`);
    if (!existsSync("/dev/vhost-net")) args.push("--set", "devicePlugin.devices={kvm,tun}");
    await helm([...args, "--wait", "--timeout", "5m"], cluster.kubeconfigPath, { timeoutMs: 6 * 60_000 });
    if (!existsSync("/dev/vhost-net"))
      // As cluster.test.ts: the operator still asks for vhost-net where none exists.
      await k([
        "patch",
        "node",
        NODE_NAME,
        "--subresource=status",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/status/capacity/devices.vireo.dev~1vhost-net","value":"110"}]',
      ]);
    await k(["-n", RELEASE_NS, "rollout", "status", "daemonset/vireo-device-plugin", "--timeout=180s"]);
    await k(["create", "namespace", NS]);
    await k(["label", "namespace", NS, "pod-security.kubernetes.io/enforce=restricted"]);
    const vm = {
      apiVersion: "vireo.dev/v1alpha1",
      kind: "VirtualMachine",
      metadata: { name: VM, namespace: NS },
      spec: {
        cpu: { cores: 1 },
        memory: { guest: "256Mi" },
        firmware: testGuestBoot(
          images.testGuest,
          `console=ttyS0 panic=-1 vireo.dhcp=1 vireo.http=80 vireo.hostname=${VM} vireo.id=${rand}`,
        ),
        interfaces: [{ name: "default", binding: "bridge" }],
        networks: [{ name: "default", pod: {} }],
      },
    };
    await k(["apply", "-f", "-"], stringify(vm));
  }, 45 * 60_000);

  afterAll(async () => {
    if (!cluster) return;
    await k(["delete", "namespace", NS, "--timeout=180s"]).catch(() => undefined);
    if (!releaseWasThere)
      await helm(["uninstall", "vireo", "-n", RELEASE_NS, "--wait"], cluster.kubeconfigPath, {
        check: false,
      });
    await cluster.stop();
  }, 15 * 60_000);

  it("admits the launcher pod (no netsetup container), boots the guest, which serves HTTP at the pod IP", async () => {
    const pod: V1Pod = await eventually(
      async () => {
        const vm = (await custom.getNamespacedCustomObject({
          group: "vireo.dev",
          version: "v1alpha1",
          plural: "virtualmachines",
          namespace: NS,
          name: VM,
        })) as { status?: { phase?: string } };
        const p = await core.readNamespacedPod({ namespace: NS, name: POD });
        if (vm.status?.phase !== "Running" || !p.status?.podIP) throw new Error(`VM ${vm.status?.phase}`);
        return p;
      },
      { timeoutMs: 10 * 60_000, intervalMs: 1_000, description: `VM ${VM} Running` },
    );
    const names = [...(pod.spec?.initContainers ?? []), ...pod.spec!.containers].map((c) => c.name);
    expect(names).not.toContain("netsetup");
    const body = await eventually(
      async () => {
        const r = await fetch(`http://${pod.status!.podIP}/`, { signal: AbortSignal.timeout(10_000) });
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        return r.text();
      },
      { timeoutMs: 5 * 60_000, intervalMs: 2_000, description: "the guest's HTTP at the pod IP" },
    );
    expect(body).toContain(`hostname=${VM} id=${rand}`);
  });
});
