/**
 * Vireo end to end on a real single-node Kubernetes on this machine (scripts/cluster/up.sh: kubelet,
 * containerd, runc, CNI bridge, scheduler, controller-manager): `helm install` the chart with emulation on,
 * apply a VM with a PVC disk and cloud-init booting the test guest, and check what a user would: the VM gets
 * Running and Ready (each phase timed), its guest serves HTTP at the pod IP, `vireo console` reaches its
 * shell, its metrics answer, data written to the disk survives `vireo restart`, and deleting the VM removes
 * its pod and QEMU and nothing else.
 */
import {
  chownSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  rmSync,
} from "node:fs";
import { execFile, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { helm, kubectl } from "../harness/commands.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";
import { litShare } from "../guest/frame.ts";
import { setHostDeviceModes } from "../harness/host-device-modes.ts";
import { containerNode, holdsOpen, KVM_VM, kvmLauncherPod, qemuPidsOf } from "./device-nodes.ts";
import { imageRefs, type ImageRefs } from "./images.ts";
import { localCluster, NODE_NAME, type LocalCluster } from "./local-cluster.ts";
import { vmObject, volumeObjects, type E2eNames } from "./manifests.ts";
import { formatTimeline, Timeline } from "./timeline.ts";
import { ConsoleSession, vireo, type CliTarget } from "./vireo-cli.ts";

const VIREO_BIN = fileURLToPath(new URL("../../bin/vireo.js", import.meta.url));
const CHART = fileURLToPath(new URL("../../charts/vireo", import.meta.url));
const VALUES = fileURLToPath(new URL("../../scripts/cluster/values-local.yaml", import.meta.url));
const RELEASE_NS = "vireo-system";
const VM_API = { group: "vireo.dev", version: "v1alpha1", plural: "virtualmachines" } as const;
const LAUNCHER_UID = 107;
const CLUSTER_DIR = process.env.VIREO_CLUSTER_DIR ?? "/var/lib/vireo-cluster";
const BOOT_TIMEOUT_MS = 10 * 60_000;
/** Where the guest writes the test's data on the PVC disk: 1 MiB in, clear of any header. */
const DATA_OFFSET_SECTORS = 2048;

interface VmView {
  metadata?: { uid?: string; annotations?: Record<string, string> };
  status?: {
    phase?: string;
    ready?: boolean;
    nodeName?: string;
    launcherPod?: string;
    conditions?: { type: string; status: string }[];
    interfaces?: { name: string; ips?: string[] }[];
  };
}

const rand = Math.random().toString(16).slice(2, 8);
const names: E2eNames = {
  namespace: `vireo-e2e-${rand}`,
  vm: "e2e",
  volume: `vireo-e2e-${rand}-data`,
  hostPath: `${CLUSTER_DIR}/volumes/vireo-e2e-${rand}`,
  node: NODE_NAME,
  guestImage: "",
  guestId: `id${rand}`,
  cloudInitMarker: `vireo-e2e-cloud-init-${rand}`,
};
const podName = `vireo-launcher-${names.vm}`;
const data = `vireo-e2e-data-${rand}`;

let cluster: LocalCluster;
let images: ImageRefs;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let cli: CliTarget;
let releaseWasThere = false;
/** Puts the host's /dev/kvm and /dev/net/tun modes back as they were before the suite. */
let restoreHostModes: (() => Promise<void>) | undefined;

const k = (args: string[], input?: string) =>
  kubectl(args, cluster.kubeconfigPath, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });

async function getVm(): Promise<VmView | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({
      ...VM_API,
      namespace: names.namespace,
      name: names.vm,
    })) as VmView;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function getPod(): Promise<V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ namespace: names.namespace, name: podName });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

const condition = (vm: VmView | undefined, type: string) =>
  vm?.status?.conditions?.find((c) => c.type === type)?.status;

/** Host pids of QEMU processes running this VM (QEMU's `-name guest=<ns>/<name>` is in its command line). */
const qemuPids = () => qemuPidsOf(names.namespace, names.vm);

/** Whether the launcher at `ip` says QEMU runs the guest (/readyz; the pod IP is the launcher's own with masquerade). */
async function launcherReady(ip: string | undefined): Promise<boolean> {
  if (!ip) return false;
  try {
    const r = await fetch(`http://${ip}:9100/readyz`, { signal: AbortSignal.timeout(2_000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Polls the VM and its (new) pod until both are Ready, recording each milestone the first time it is seen:
 * pod created, scheduled, launcher container running, guest running (the launcher's /readyz), Ready (the
 * pod's readiness, i.e. the guest's probe, and the VM's Ready condition).
 */
async function watchStart(timeline: Timeline, previousPodUid?: string): Promise<{ vm: VmView; pod: V1Pod }> {
  return eventually(
    async () => {
      const [vm, pod] = await Promise.all([getVm(), getPod()]);
      const current = pod && pod.metadata?.uid !== previousPodUid ? pod : undefined;
      if (current) timeline.mark("pod created");
      const podCondition = (type: string) =>
        current?.status?.conditions?.find((c) => c.type === type)?.status;
      if (podCondition("PodScheduled") === "True") timeline.mark("pod scheduled");
      const launcher = current?.status?.containerStatuses?.find((c) => c.name === "launcher");
      if (launcher?.state?.running) timeline.mark("launcher up");
      if (launcher?.state?.running && (await launcherReady(current?.status?.podIP)))
        timeline.mark("guest running");
      if (
        podCondition("Ready") === "True" &&
        condition(vm, "Ready") === "True" &&
        vm?.status?.phase === "Running"
      )
        timeline.mark("Ready");
      if (!timeline.has("Ready") || !vm || !current) {
        throw new Error(
          `VM phase=${vm?.status?.phase} ready=${condition(vm, "Ready")} pod=${current?.status?.phase}`,
        );
      }
      return { vm, pod: current };
    },
    { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 500, description: `VM ${names.vm} Running and Ready` },
  );
}

async function podIp(): Promise<string> {
  const ip = (await getPod())?.status?.podIP;
  if (!ip) throw new Error("the launcher pod has no IP");
  return ip;
}

/** Reads `length` bytes at `offset` of the disk image the launcher made on the PersistentVolume. */
function readHostDisk(offset: number, length: number): string {
  const fd = openSync(`${names.hostPath}/disk.img`, "r");
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf.toString("latin1");
  } finally {
    closeSync(fd);
  }
}

describe.sequential("Vireo on a single-node Kubernetes (kubelet, containerd, CNI)", () => {
  beforeAll(async () => {
    cluster = await localCluster();
    // up.sh built the images and imported them into containerd (a cluster found running has its own).
    images = await imageRefs();
    names.guestImage = images.testGuest;
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    cli = { kubeconfigPath: cluster.kubeconfigPath, namespace: names.namespace };
    // Hardened node modes first (nothing but root may open them); a later test switches to Debian's.
    restoreHostModes = await setHostDeviceModes("0600 root:root");

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
      // As scripts/cluster/install.sh: the plugin's device nodes in the cluster's data dir, which down.sh removes.
      "--set",
      `devicePlugin.nodeDir=${CLUSTER_DIR}/device-nodes`,
    ];
    // This kernel has no vhost_net: the device plugin advertises what exists (see scripts/cluster/install.sh).
    if (!existsSync("/dev/vhost-net")) args.push("--set", "devicePlugin.devices={kvm,tun}");
    await helm([...args, "--wait", "--timeout", "5m"], cluster.kubeconfigPath, { timeoutMs: 6 * 60_000 });
    if (!existsSync("/dev/vhost-net")) {
      // Until the operator stops requesting devices.vireo.dev/vhost-net where none exists (reported), give the
      // node that capacity by hand so launcher pods schedule; they get no /dev/vhost-net and use userspace.
      await k([
        "patch",
        "node",
        NODE_NAME,
        "--subresource=status",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/status/capacity/devices.vireo.dev~1vhost-net","value":"110"}]',
      ]);
    }
    await k(["-n", RELEASE_NS, "rollout", "status", "deployment/vireo-operator", "--timeout=180s"]);
    await k(["-n", RELEASE_NS, "rollout", "status", "daemonset/vireo-device-plugin", "--timeout=180s"]);
    await eventually(async () => {
      const node = await core.readNode({ name: NODE_NAME });
      if (!(Number(node.status?.allocatable?.["devices.vireo.dev/tun"] ?? 0) > 0))
        throw new Error("devices.vireo.dev/tun not allocatable yet");
    });

    await k(["create", "namespace", names.namespace]);
    mkdirSync(names.hostPath, { recursive: true });
    chownSync(names.hostPath, LAUNCHER_UID, LAUNCHER_UID);
    await k(
      ["apply", "-f", "-"],
      volumeObjects(names)
        .map((o) => stringify(o))
        .join("---\n"),
    );
    await eventually(async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({
        namespace: names.namespace,
        name: names.volume,
      });
      if (pvc.status?.phase !== "Bound") throw new Error(`PVC ${pvc.status?.phase}`);
    });
  }, 45 * 60_000);

  afterAll(async () => {
    await restoreHostModes?.();
    if (!cluster) return;
    if (core) {
      await k(["-n", names.namespace, "delete", "virtualmachines", "--all", "--timeout=180s"]).catch(
        () => undefined,
      );
      await k(["delete", "namespace", names.namespace, "--timeout=180s"]).catch(() => undefined);
      await k(["delete", "persistentvolume", names.volume, "--timeout=60s"]).catch(() => undefined);
      if (!releaseWasThere)
        await helm(["uninstall", "vireo", "-n", RELEASE_NS, "--wait"], cluster.kubeconfigPath, {
          check: false,
        });
    }
    rmSync(names.hostPath, { recursive: true, force: true });
    await cluster.stop();
  }, 15 * 60_000);

  it("passes `helm test` on the real install (vireo doctor in the operator image)", async () => {
    const res = await helm(
      // No --logs: the hooks' delete policy removes a passing test pod before helm could read its logs.
      ["test", "vireo", "-n", RELEASE_NS, "--timeout", "5m"],
      cluster.kubeconfigPath,
      { timeoutMs: 6 * 60_000, check: false },
    );
    expect(res.exitCode, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(res.stdout).toMatch(/Phase:\s+Succeeded/);
  });

  it("starts the VM: pod scheduled, launcher up, guest running, Ready", async () => {
    const timeline = new Timeline();
    timeline.mark("kubectl apply");
    await k(["apply", "-f", "-"], stringify(vmObject(names)));
    timeline.mark("created");
    const { vm, pod } = await watchStart(timeline);
    console.log(
      formatTimeline(
        `VM ${names.namespace}/${names.vm} start (client-observed, 0.5 s polling)`,
        timeline.milestones(),
      ),
    );

    expect(timeline.milestones().map((m) => m.name)).toEqual([
      "kubectl apply",
      "created",
      "pod created",
      "pod scheduled",
      "launcher up",
      "guest running",
      "Ready",
    ]);
    expect(vm.status).toMatchObject({
      phase: "Running",
      ready: true,
      nodeName: NODE_NAME,
      launcherPod: podName,
    });
    expect(pod.spec?.nodeName).toBe(NODE_NAME);
    expect(vm.status?.interfaces?.[0]?.ips).toContain(pod.status?.podIP);
    // Emulation on: the launcher asks for no /dev/kvm.
    const limits = pod.spec?.containers.find((c) => c.name === "launcher")?.resources?.limits ?? {};
    expect(limits).not.toHaveProperty("devices.vireo.dev/kvm");
    expect(qemuPids()).toHaveLength(1);
  });

  it("serves HTTP from inside the guest at the pod IP, reached from the host", async () => {
    const ip = await podIp();
    const body = await eventually(async () => {
      const r = await fetch(`http://${ip}/`, { signal: AbortSignal.timeout(10_000) });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      return r.text();
    });
    expect(body).toContain(`hostname=${names.vm} id=${names.guestId}`);
  });

  it("opens the guest's shell through `vireo console`, sees the cloud-init disk, writes to the PVC disk", async () => {
    const session = ConsoleSession.open(cli, names.vm);
    try {
      // A session starts with the recent output: this boot's report, from this run's guest.
      await session.waitFor(new RegExp(`VIREO-GUEST boot .*id=${names.guestId}`), 60_000);
      await session.waitFor(/VIREO-GUEST ready/, 60_000);
      const uname = await session.run("uname -r");
      expect(uname.status).toBe(0);
      expect(uname.output).toMatch(/cloud-amd64/);
      const ci = await session.run(
        `dd if=/dev/disk/by-id/virtio-cloudinit bs=65536 count=16 2>/dev/null | grep -c ${names.cloudInitMarker}`,
      );
      expect(ci.status).toBe(0);
      expect(Number(ci.output.trim())).toBeGreaterThanOrEqual(1);
      const write = await session.run(
        `printf %s ${data} | dd of=/dev/disk/by-id/virtio-data bs=512 seek=${DATA_OFFSET_SECTORS} conv=notrunc,fsync 2>/dev/null && sync`,
      );
      expect(write.status).toBe(0);
      const back = await session.run(
        `dd if=/dev/disk/by-id/virtio-data bs=512 skip=${DATA_OFFSET_SECTORS} count=1 2>/dev/null | head -c ${data.length}`,
      );
      expect(back.output).toBe(data);
    } finally {
      await session.close();
    }
    // The write reached the disk image on the PersistentVolume (O_DIRECT, no host cache in between).
    expect(readHostDisk(DATA_OFFSET_SECTORS * 512, data.length)).toBe(data);
  });

  it("answers the launcher's metrics at pod IP:9100", async () => {
    const ip = await podIp();
    const text = await (
      await fetch(`http://${ip}:9100/metrics`, { signal: AbortSignal.timeout(15_000) })
    ).text();
    const sel = `namespace="${names.namespace}",name="${names.vm}"`;
    expect(text).toMatch(new RegExp(`vireo_vm_info\\{${sel},[^}]*accelerator="tcg"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`vireo_vm_state\\{${sel},state="running"\\} 1`));
    const written = new RegExp(
      `vireo_vm_storage_write_traffic_bytes_total\\{${sel},drive="data"\\} (\\d+)`,
    ).exec(text);
    expect(Number(written?.[1])).toBeGreaterThanOrEqual(data.length);
    const received = new RegExp(
      `vireo_vm_network_receive_bytes_total\\{${sel},interface="default"\\} (\\d+)`,
    ).exec(text);
    expect(Number(received?.[1])).toBeGreaterThan(0);
  });

  it("serves the VM's metrics through the device plugin's /vm-metrics, named by the kubelet's directories", async () => {
    const plugins = await core.listNamespacedPod({
      namespace: RELEASE_NS,
      labelSelector: "app.kubernetes.io/component=device-plugin",
    });
    const ip = plugins.items.find((p) => p.status?.phase === "Running")?.status?.podIP;
    expect(ip, "a running device plugin pod").toBeTruthy();
    const pod = (await getPod())!.metadata!.name!;
    const text = await eventually(
      async () => {
        const t = await (
          await fetch(`http://${ip}:9102/vm-metrics`, { signal: AbortSignal.timeout(15_000) })
        ).text();
        if (!t.includes(`pod="${pod}"`)) throw new Error(`no series of ${pod} yet`);
        return t;
      },
      { timeoutMs: 60_000, intervalMs: 2000, description: "the VM in /vm-metrics" },
    );
    const sel = `namespace="${names.namespace}",pod="${pod}",name="${names.vm}"`;
    expect(text).toMatch(new RegExp(`vireo_vm_info\\{${sel},[^}]*accelerator="tcg"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`vireo_vm_state\\{${sel},state="running"\\} 1`));
  });

  it("keeps the disk's data across `vireo restart` (new pod, new QEMU)", async () => {
    const before = await getPod();
    const oldQemu = qemuPids();
    const timeline = new Timeline();
    timeline.mark("vireo restart");
    const out = await vireo(cli, ["restart", names.vm]);
    expect(out).toMatch(/restart/i);
    await watchStart(timeline, before?.metadata?.uid);
    console.log(formatTimeline(`VM ${names.namespace}/${names.vm} restart`, timeline.milestones()));
    const newQemu = qemuPids();
    expect(newQemu).toHaveLength(1);
    expect(oldQemu.filter((p) => newQemu.includes(p))).toEqual([]);

    const session = ConsoleSession.open(cli, names.vm);
    try {
      await session.waitFor(/VIREO-GUEST ready/, 120_000);
      const back = await session.run(
        `dd if=/dev/disk/by-id/virtio-data bs=512 skip=${DATA_OFFSET_SECTORS} count=1 2>/dev/null | head -c ${data.length}`,
      );
      expect(back.status).toBe(0);
      expect(back.output).toBe(data);
    } finally {
      await session.close();
    }
  });

  it("leaves the host's IPv4 forwarding as up.sh found it while pods run (no CNI isGateway)", () => {
    // The CNI bridge plugin turns on net.ipv4.ip_forward on the host when isGateway is set; the host's
    // forwarding is not ours to change (its uplink must never route pods or guests).
    const found = readFileSync(join(CLUSTER_DIR, "host-ip-forward"), "utf8").trim();
    expect(found).toMatch(/^[01]$/);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe(found);
  });

  it("gives QEMU the device plugin's nodes (root:107 0660), not the host's 0600 root:root ones", () => {
    const [pid] = qemuPids();
    expect(pid).toBeDefined();
    expect(containerNode(pid!, "/dev/net/tun")).toEqual({ uid: 0, gid: LAUNCHER_UID, mode: 0o660 });
    expect(holdsOpen(pid!, "/dev/net/tun")).toBe(true);
  });

  it("boots again after the host's nodes change to 0660 root:kvm (`vireo restart`)", async () => {
    await restoreHostModes?.();
    restoreHostModes = undefined;
    restoreHostModes = await setHostDeviceModes("0660 root:kvm");
    const before = await getPod();
    const timeline = new Timeline();
    timeline.mark("vireo restart");
    await vireo(cli, ["restart", names.vm]);
    await watchStart(timeline, before?.metadata?.uid);
    console.log(formatTimeline(`VM restart with host nodes 0660 root:kvm`, timeline.milestones()));
    const [pid] = qemuPids();
    expect(containerNode(pid!, "/dev/net/tun")).toEqual({ uid: 0, gid: LAUNCHER_UID, mode: 0o660 });
    const session = ConsoleSession.open(cli, names.vm);
    try {
      await session.waitFor(/VIREO-GUEST ready/, 120_000);
    } finally {
      await session.close();
    }
  });

  it("VNC through `vireo vnc`; restarts the VM when its guest stops answering the liveness probe, reason in an Event", async () => {
    // A liveness probe on the guest's web server (pods are immutable: it takes a restart to get one), and
    // RerunOnFailure: only a run counted as failed restarts (a clean stop would leave the VM Stopped). VNC on,
    // with the kernel's console on the VGA screen too, for `vireo vnc` below.
    const spec = JSON.parse(
      (await k(["-n", names.namespace, "get", "virtualmachines.vireo.dev", names.vm, "-o", "json"])).stdout,
    ) as { spec: { firmware: { kernelBoot: { cmdline: string } } } };
    await k([
      "-n",
      names.namespace,
      "patch",
      "virtualmachines.vireo.dev",
      names.vm,
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: {
          runStrategy: "RerunOnFailure",
          devices: { vnc: true },
          firmware: { kernelBoot: { cmdline: `console=tty0 ${spec.spec.firmware.kernelBoot.cmdline}` } },
          livenessProbe: { httpGet: { port: 80 }, periodSeconds: 2, failureThreshold: 3 },
        },
      }),
    ]);
    const before = await getPod();
    await vireo(cli, ["restart", names.vm]);
    const { pod: probed } = await watchStart(new Timeline(), before?.metadata?.uid);
    const probe = probed.spec?.containers.find((c) => c.name === "launcher")?.livenessProbe;
    expect(probe?.httpGet?.port).toBe(80);

    // VNC through `vireo vnc` (pods/portforward to 127.0.0.1:5900 in the pod): Debian's vncsnapshot grabs a
    // frame with the guest's console text on it.
    const vncPort = await freePort();
    const vnc = spawn(
      process.execPath,
      [
        VIREO_BIN,
        "vnc",
        names.vm,
        "--port",
        String(vncPort),
        "-n",
        names.namespace,
        "--kubeconfig",
        cluster.kubeconfigPath,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let said = "";
      vnc.stdout.on("data", (d: Buffer) => (said += d.toString()));
      vnc.stderr.on("data", (d: Buffer) => (said += d.toString()));
      await eventually(
        async () => {
          if (!said.includes(`127.0.0.1:${vncPort}`))
            throw new Error(`vireo vnc has not said where yet: ${said}`);
        },
        { timeoutMs: 60_000, description: "vireo vnc listening" },
      );
      const frame = join(tmpdir(), `vireo-e2e-vnc-${rand}.jpg`);
      try {
        await promisify(execFile)("vncsnapshot", ["-quiet", `127.0.0.1::${vncPort}`, frame], {
          timeout: 90_000,
        });
        const lit = await litShare(frame);
        console.log(`[figures] vireo vnc frame: ${(lit * 100).toFixed(1)} % of pixels lit`);
        expect(lit).toBeGreaterThan(0.005);
        expect(lit).toBeLessThan(0.5);
      } finally {
        rmSync(frame, { force: true });
      }
    } finally {
      vnc.kill("SIGTERM");
    }

    // The guest's service stops answering: the kubelet's probe fails, it stops the launcher (SIGTERM: the
    // guest powers off cleanly, exit 0), and the operator counts that as a failure and starts a new pod.
    const session = ConsoleSession.open(cli, names.vm);
    try {
      await session.waitFor(/VIREO-GUEST ready/, 120_000);
      expect((await session.run("killall httpd")).status).toBe(0);
    } finally {
      await session.close();
    }
    const timeline = new Timeline();
    timeline.mark("httpd killed");
    await watchStart(timeline, probed.metadata?.uid);
    console.log(formatTimeline(`VM restart after a failed liveness probe`, timeline.milestones()));
    const events = await eventually(
      async () => {
        const out = await k([
          "-n",
          names.namespace,
          "get",
          "events",
          "--field-selector",
          `involvedObject.name=${names.vm},type=Warning`,
          "-o",
          "json",
        ]);
        const items = (JSON.parse(out.stdout) as { items: { reason: string; message: string }[] }).items;
        // LivenessProbeFailed, or CrashLoopBackOff first when the probed run was short: both say why.
        const told = items.filter((e) => e.message.includes("liveness probe failed, the kubelet stopped"));
        if (!told.length)
          throw new Error(`no Warning about the probe on the VM yet: ${JSON.stringify(items)}`);
        return told;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 2000,
        description: "the VM's Warning about the failed liveness probe",
      },
    );
    expect(events[0]!.message).toMatch(/powerdown: the guest powered off/);
  });

  it.skipIf(!existsSync("/dev/kvm"))(
    "opens /dev/kvm in a launcher pod that does not emulate (the KVM path)",
    async () => {
      const pod = kvmLauncherPod(names, images.launcher);
      const podName = pod.metadata!.name!;
      await core.createNamespacedPod({ namespace: names.namespace, body: pod });
      try {
        const pid = await eventually(
          async () => {
            const [p] = qemuPidsOf(names.namespace, KVM_VM);
            if (p === undefined || !holdsOpen(p, "/dev/kvm")) throw new Error("no QEMU holding /dev/kvm yet");
            return p;
          },
          { timeoutMs: 5 * 60_000, intervalMs: 500, description: "QEMU with /dev/kvm open in the pod" },
        );
        expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("kvm");
        expect(containerNode(pid, "/dev/kvm")).toEqual({ uid: 0, gid: LAUNCHER_UID, mode: 0o660 });
        const limits = pod.spec?.containers.find((c) => c.name === "launcher")?.resources?.limits ?? {};
        expect(limits).toHaveProperty(["devices.vireo.dev/kvm"], "1");
      } finally {
        await k(["-n", names.namespace, "delete", "pod", podName, "--grace-period=1", "--timeout=120s"]);
      }
      await eventually(async () => {
        if (qemuPidsOf(names.namespace, KVM_VM).length) throw new Error("KVM QEMU still running");
      });
    },
  );

  it("deleting the VM removes its pod and QEMU, and nothing else", async () => {
    const others = async () => {
      const pods = await core.listPodForAllNamespaces();
      return new Map(
        pods.items
          .filter((p) => !(p.metadata?.namespace === names.namespace && p.metadata?.name === podName))
          .map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p.metadata?.uid]),
      );
    };
    const podsBefore = await others();
    const pvcBefore = await core.readNamespacedPersistentVolumeClaim({
      namespace: names.namespace,
      name: names.volume,
    });
    const qemu = qemuPids();
    expect(qemu).toHaveLength(1);

    await k(["-n", names.namespace, "delete", "virtualmachine", names.vm, "--wait=false"]);
    await eventually(
      async () => {
        const [vm, pod] = await Promise.all([getVm(), getPod()]);
        const left = qemuPids();
        if (vm || pod || left.length) throw new Error(`vm=${!!vm} pod=${!!pod} qemu=${left.join(",")}`);
      },
      { timeoutMs: 5 * 60_000, intervalMs: 500, description: "VM, pod and QEMU gone" },
    );

    expect(await others()).toEqual(podsBefore);
    const pvc = await core.readNamespacedPersistentVolumeClaim({
      namespace: names.namespace,
      name: names.volume,
    });
    expect(pvc.metadata?.uid).toBe(pvcBefore.metadata?.uid);
    expect(pvc.status?.phase).toBe("Bound");
    expect(await core.readNamespace({ name: names.namespace })).toBeTruthy();
    expect(readHostDisk(DATA_OFFSET_SECTORS * 512, data.length)).toBe(data);
  });
});
