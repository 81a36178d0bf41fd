/**
 * A real user's image end to end on the single-node cluster (kubelet, containerd, CNI): the Debian cloud image
 * (scripts/guest-image) served over HTTP on the node's pod-bridge address, a VM whose dataVolumeTemplate
 * imports it (the importer pod runs on the real kubelet: uid 107, no token, read-only root), the VM waiting
 * for the import, then booting the imported claim through SeaBIOS and its own GRUB (no kernelBoot) under TCG,
 * cloud-init from our NoCloud disk reporting the hostname on the serial console. Then, on the same cluster,
 * upload and clone: `vireo image-upload` streams the image through the API server's port-forward into an
 * upload DataVolume's importer pod, and a second DataVolume clones that claim through an importer pod mounting
 * it read-only; both claims are local PVs on this host, so the test reads what the pods wrote.
 */
import { execFile } from "node:child_process";
import {
  chownSync,
  closeSync,
  createReadStream,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { promisify } from "node:util";
import { createServer, type Server } from "node:http";
import { CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { helm, kubectl } from "../harness/commands.ts";
import { eventually } from "../harness/eventually.ts";
import { debianImage, type DebianImage } from "../guest/debian-image.ts";
import { localCluster, NODE_NAME, type LocalCluster } from "./local-cluster.ts";
import { STORAGE_CLASS } from "./manifests.ts";

const CHART = fileURLToPath(new URL("../../charts/vireo", import.meta.url));
const VALUES = fileURLToPath(new URL("../../scripts/cluster/values-local.yaml", import.meta.url));
const RELEASE_NS = "vireo-system";
const CLUSTER_DIR = process.env.VIREO_CLUSTER_DIR ?? "/var/lib/vireo-cluster";
/** The node's address on the pod bridge (scripts/cluster/lib.sh): reachable from pods, nowhere else. */
const NODE_IP = "10.244.0.1";
const rand = Math.random().toString(16).slice(2, 8);
const ns = `vireo-dv-${rand}`;
const vm = "debian";
const dvName = "debian-root";
const pvName = `vireo-dv-${rand}`;
const hostPath = `${CLUSTER_DIR}/volumes/${pvName}`;
const CLI = fileURLToPath(new URL("../../bin/vireo.js", import.meta.url));
const run = promisify(execFile);
/** The upload and clone case's claims, each on its own local PV. */
const copies = ["uploaded", "cloned"] as const;
const copyPv = (c: string) => `vireo-dv-${c}-${rand}`;
const copyPath = (c: string) => `${CLUSTER_DIR}/volumes/${copyPv(c)}`;
/** sha256 of a (multi-GiB, sparse) disk file, streamed. */
const sha = async (path: string) => (await run("sha256sum", [path])).stdout.split(" ")[0];

let cluster: LocalCluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let image: DebianImage;
let server: Server;
let releaseWasThere = false;
const k = (args: string[], input?: string) =>
  kubectl(args, cluster.kubeconfigPath, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });

const get = (plural: string, name: string) =>
  custom
    .getNamespacedCustomObject({ group: "vireo.dev", version: "v1alpha1", plural, namespace: ns, name })
    .then(
      (o) =>
        o as {
          status?: {
            phase?: string;
            printableStatus?: string;
            progress?: string;
            conditions?: { type: string; reason: string; message: string }[];
          };
        },
      () => undefined,
    );

describe.sequential("DataVolume import on a single-node Kubernetes", () => {
  beforeAll(async () => {
    image = debianImage();
    cluster = await localCluster();
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
    if (!existsSync("/dev/vhost-net")) args.push("--set", "devicePlugin.devices={kvm,tun}");
    await helm([...args, "--wait", "--timeout", "5m"], cluster.kubeconfigPath, { timeoutMs: 6 * 60_000 });
    if (!existsSync("/dev/vhost-net"))
      await k([
        "patch",
        "node",
        NODE_NAME,
        "--subresource=status",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/status/capacity/devices.vireo.dev~1vhost-net","value":"110"}]',
      ]);
    await k(["-n", RELEASE_NS, "rollout", "status", "deployment/vireo-operator", "--timeout=180s"]);
    server = createServer((req, res) => {
      if (req.url !== "/debian-12.qcow2") return void res.writeHead(404).end();
      res.writeHead(200, {
        "content-length": statSync(image.disk).size,
        "content-type": "application/octet-stream",
      });
      createReadStream(image.disk).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, NODE_IP, r));
    await k(["create", "namespace", ns]);
    mkdirSync(hostPath, { recursive: true });
    chownSync(hostPath, 107, 107);
    // No provisioner here: a local PV waits for the DataVolume's claim (claimRef), as an admin would prepare.
    await k(
      ["apply", "-f", "-"],
      stringify({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: pvName, labels: { "vireo.dev/test": "e2e" } },
        spec: {
          capacity: { storage: "3Gi" },
          accessModes: ["ReadWriteOnce"],
          volumeMode: "Filesystem",
          storageClassName: STORAGE_CLASS,
          persistentVolumeReclaimPolicy: "Retain",
          claimRef: { namespace: ns, name: dvName },
          local: { path: hostPath },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [NODE_NAME] }],
                },
              ],
            },
          },
        },
      }),
    );
  }, 45 * 60_000);

  afterAll(async () => {
    if (cluster) {
      await k(["-n", ns, "delete", "virtualmachines", "--all", "--timeout=180s"]).catch(() => undefined);
      await k(["-n", ns, "delete", "datavolumes", "--all", "--timeout=120s"]).catch(() => undefined);
      await k(["delete", "namespace", ns, "--timeout=180s"]).catch(() => undefined);
      for (const pv of [pvName, ...copies.map(copyPv)])
        await k(["delete", "pv", pv, "--timeout=60s"]).catch(() => undefined);
      if (!releaseWasThere)
        await helm(["uninstall", "vireo", "-n", RELEASE_NS], cluster.kubeconfigPath, { check: false });
      await cluster.stop();
    }
    await new Promise((r) => server?.close(r));
    for (const p of [hostPath, ...copies.map(copyPath)]) rmSync(p, { recursive: true, force: true });
  }, 10 * 60_000);

  it(
    "imports the cloud image, waits for it, and boots it through SeaBIOS",
    async () => {
      const url = `http://${NODE_IP}:${(server.address() as { port: number }).port}/debian-12.qcow2`;
      const userData = `#cloud-config\nhostname: vireo-dv-${rand}\nruncmd:\n  - echo "VIREO-DV hostname=$(hostname) root=$(findmnt -no SOURCE /)" > /dev/ttyS0\n`;
      await k(
        ["apply", "-f", "-"],
        stringify({
          apiVersion: "vireo.dev/v1alpha1",
          kind: "VirtualMachine",
          metadata: { name: vm, namespace: ns },
          spec: {
            cpu: { cores: 1 },
            memory: { guest: "1Gi" },
            disks: [{ name: "root", bootOrder: 1 }, { name: "cloudinit" }],
            volumes: [
              { name: "root", dataVolume: { name: dvName } },
              { name: "cloudinit", cloudInitNoCloud: { userData } },
            ],
            dataVolumeTemplates: [
              {
                metadata: { name: dvName },
                spec: {
                  source: { http: { url, checksum: `sha256:${image.manifest.sha256}` } },
                  storage: { size: "3Gi", storageClassName: STORAGE_CLASS },
                },
              },
            ],
          },
        }),
      );
      // While the import runs the VM waits, with no launcher pod.
      const importer: V1Pod = await eventually(
        async () => core.readNamespacedPod({ namespace: ns, name: `vireo-importer-${dvName}` }),
        { timeoutMs: 120_000, intervalMs: 500, description: "importer pod" },
      );
      expect(importer.spec?.automountServiceAccountToken).toBe(false);
      const waiting = await get("virtualmachines", vm);
      expect(["Provisioning", "WaitingForVolumeBinding"]).toContain(waiting?.status?.printableStatus);
      const done = await eventually(
        async () => {
          const dv = await get("datavolumes", dvName);
          if (dv?.status?.phase === "Failed")
            throw new Error(`DataVolume Failed: ${JSON.stringify(dv.status.conditions)}`);
          if (dv?.status?.phase !== "Succeeded")
            throw new Error(`DataVolume ${dv?.status?.phase} ${dv?.status?.progress}`);
          return dv;
        },
        { timeoutMs: 15 * 60_000, intervalMs: 2_000, description: "DataVolume Succeeded" },
      );
      expect(done.status?.progress).toBe("100%");
      // The importer wrote disk.img as raw, sized to the claim's capacity less the filesystem reserve.
      expect(statSync(`${hostPath}/disk.img`).size).toBeGreaterThanOrEqual(image.manifest.virtualSizeBytes);
      const launcher = `vireo-launcher-${vm}`;
      const report = await eventually(
        async () => {
          const { stdout } = await k([
            "-n",
            ns,
            "exec",
            launcher,
            "-c",
            "launcher",
            "--",
            "vireo-launcher",
            "logs",
          ]);
          const m = /VIREO-DV hostname=(\S+) root=(\S+)/.exec(stdout);
          if (!m) throw new Error(`no report yet (${stdout.length} bytes of console)`);
          return { hostname: m[1], root: m[2] };
        },
        {
          timeoutMs: 20 * 60_000,
          intervalMs: 5_000,
          description: "the guest's cloud-init report on the serial console",
        },
      );
      expect(report.hostname).toBe(`vireo-dv-${rand}`);
      expect(report.root).toMatch(/^\/dev\/vda/);
    },
    45 * 60_000,
  );
  /** A local PV on this host waiting for claim `c` of the upload and clone case (no provisioner here). */
  async function copyClaimPv(c: string): Promise<void> {
    mkdirSync(copyPath(c), { recursive: true });
    chownSync(copyPath(c), 107, 107);
    await k(
      ["apply", "-f", "-"],
      stringify({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: copyPv(c), labels: { "vireo.dev/test": "e2e" } },
        spec: {
          capacity: { storage: "3Gi" },
          accessModes: ["ReadWriteOnce"],
          volumeMode: "Filesystem",
          storageClassName: STORAGE_CLASS,
          persistentVolumeReclaimPolicy: "Retain",
          claimRef: { namespace: ns, name: c },
          local: { path: copyPath(c) },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [NODE_NAME] }],
                },
              ],
            },
          },
        },
      }),
    );
  }

  /** Waits for a DataVolume's Succeeded (Failed throws at once, with its conditions). */
  async function succeeded(name: string): Promise<void> {
    await eventually(
      async () => {
        const dv = await get("datavolumes", name);
        if (dv?.status?.phase === "Failed")
          throw new Error(`DataVolume ${name} Failed: ${JSON.stringify(dv.status.conditions)}`);
        if (dv?.status?.phase !== "Succeeded") throw new Error(`DataVolume ${name} is ${dv?.status?.phase}`);
      },
      { timeoutMs: 15 * 60_000, intervalMs: 2_000, description: `DataVolume ${name} Succeeded` },
    );
  }

  // No guest boots here: 47 s on this cluster (the upload through port-forward and the clone pod).
  it(
    "uploads the cloud image with vireo image-upload, clones it, and keeps the two disks apart",
    async () => {
      for (const c of copies) await copyClaimPv(c);
      // The CLI creates the DataVolume (--size), waits for the upload pod, streams through port-forward.
      const up = await run(
        process.execPath,
        [
          CLI,
          "image-upload",
          "--image-path",
          image.disk,
          "dv/uploaded",
          "--size",
          "3Gi",
          "--storage-class",
          STORAGE_CLASS,
          "--wait",
          "--timeout",
          "900",
          "-n",
          ns,
          "--kubeconfig",
          cluster.kubeconfigPath,
        ],
        { timeout: 16 * 60_000, maxBuffer: 16 << 20 },
      );
      expect(up.stderr).toMatch(/uploaded/);
      await succeeded("uploaded");
      const uploaded = `${copyPath("uploaded")}/disk.img`;
      await run("qemu-img", ["compare", "-f", "qcow2", "-F", "raw", image.disk, uploaded]);

      await k(
        ["apply", "-f", "-"],
        stringify({
          apiVersion: "vireo.dev/v1alpha1",
          kind: "DataVolume",
          metadata: { name: "cloned", namespace: ns },
          spec: {
            source: { pvc: { name: "uploaded" } },
            storage: { size: "3Gi", storageClassName: STORAGE_CLASS },
          },
        }),
      );
      await succeeded("cloned");
      const cloned = `${copyPath("cloned")}/disk.img`;
      await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", uploaded, cloned]);

      // Two disks, not one: a write into the clone leaves the upload byte for byte as it was.
      const before = await sha(uploaded);
      const fd = openSync(cloned, "r+");
      writeSync(fd, Buffer.from(`vireo-clone-${rand}`), 0, undefined, statSync(cloned).size - 4096);
      closeSync(fd);
      expect(await sha(uploaded)).toBe(before);
      const diff = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", uploaded, cloned]).then(
        () => 0,
        (err: { code?: number }) => err.code,
      );
      expect(diff).toBe(1);
    },
    45 * 60_000,
  );
});
