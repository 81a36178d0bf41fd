/**
 * What the end-to-end suite checks about the device nodes a launcher pod gets: the nodes inside a
 * running QEMU's container, whether QEMU holds /dev/kvm open, and a launcher pod built without emulation
 * (the operator's own pod builder, taken out of the operator's hands) so the KVM path runs in a pod.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import type { V1Pod } from "@kubernetes/client-node";
import { LABEL_VM } from "../../crds/contract/index.ts";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { buildLauncherPod } from "../../operator/pod/build.ts";
import { type E2eNames, testGuestBoot } from "./manifests.ts";

/** Host pids of the QEMU processes whose `-name guest=<namespace>/<name>` matches. */
export function qemuPidsOf(namespace: string, name: string): number[] {
  const needle = `guest=${namespace}/${name},`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.startsWith("qemu-system") && cmd.includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Owner, group and mode of a device node inside process `pid`'s container (through /proc/PID/root). */
export function containerNode(pid: number, path: string): { uid: number; gid: number; mode: number } {
  const s = statSync(`/proc/${pid}/root${path}`);
  return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
}

/** Whether process `pid` holds `path` open (its /proc fd links name the path as its mount namespace sees it). */
export function holdsOpen(pid: number, path: string): boolean {
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

/** Name of the KVM probe VM (never created as a VirtualMachine; only its pod is). */
export const KVM_VM = "e2e-kvm";

/**
 * A launcher pod for a small VM without NICs or disks, built by the operator's pod builder with emulation
 * off — so it requests devices.vireo.dev/kvm and its launcher may only use KVM — and stripped of what
 * would tie it to the operator (owner reference, the `vireo.dev/vm` label, finalizers), so the operator
 * leaves it alone and the test deletes it.
 */
export function kvmLauncherPod(n: E2eNames, launcherImage: string): V1Pod {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: KVM_VM, namespace: n.namespace, uid: "00000000-0000-4000-8000-00000000c0de" },
    spec: {
      cpu: { cores: 1 },
      memory: { guest: "64Mi" },
      terminationGracePeriodSeconds: 5,
      firmware: testGuestBoot(n.guestImage, "console=ttyS0 panic=-1"),
      interfaces: [],
      networks: [],
    },
  });
  const pod = buildLauncherPod(vm, {
    launcherImage,
    imagePullPolicy: "Never",
    emulation: false,
    defaultBinding: "masquerade",
  });
  const labels = { ...pod.metadata?.labels };
  delete labels[LABEL_VM];
  return {
    ...pod,
    metadata: { ...pod.metadata, labels, ownerReferences: [], finalizers: [] },
  };
}
