/** The objects the end-to-end test applies: a local PersistentVolume and its claim, and the VM. Pure. */

/** What varies between runs. */
export interface E2eNames {
  namespace: string;
  vm: string;
  /** PersistentVolume (cluster-scoped) and PVC name. */
  volume: string;
  /** Host directory backing the PersistentVolume. */
  hostPath: string;
  node: string;
  /** The test guest image (firmware.kernelBoot). */
  guestImage: string;
  /** Shown by the guest's web page and console report, to tell this run's guest apart. */
  guestId: string;
  /** Written into cloud-init user data; the test finds it on the guest's NoCloud disk. */
  cloudInitMarker: string;
}

/** StorageClass name for static local volumes (no provisioner). */
export const STORAGE_CLASS = "vireo-local";

/** PersistentVolume + PVC (Filesystem mode; the launcher creates disk.img in it) bound to each other. */
export function volumeObjects(n: E2eNames): object[] {
  return [
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: STORAGE_CLASS },
      provisioner: "kubernetes.io/no-provisioner",
      volumeBindingMode: "Immediate",
      reclaimPolicy: "Retain",
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: n.volume, labels: { "vireo.dev/test": "e2e" } },
      spec: {
        capacity: { storage: "128Mi" },
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        storageClassName: STORAGE_CLASS,
        persistentVolumeReclaimPolicy: "Retain",
        claimRef: { namespace: n.namespace, name: n.volume },
        local: { path: n.hostPath },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [n.node] }] },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: n.volume, namespace: n.namespace },
      spec: {
        accessModes: ["ReadWriteOnce"],
        volumeMode: "Filesystem",
        storageClassName: STORAGE_CLASS,
        resources: { requests: { storage: "128Mi" } },
      },
    },
  ];
}

/** Firmware that boots the test guest image's kernel and initramfs directly with `cmdline`. */
export function testGuestBoot(image: string, cmdline: string): object {
  return {
    kernelBoot: { image, kernelPath: "/boot/vmlinuz", initrdPath: "/boot/initramfs.cpio.gz", cmdline },
  };
}

/**
 * The VM: the test guest booted directly (DHCP on, busybox httpd on port 80), a data disk on the claim, a
 * cloud-init NoCloud disk, masquerade binding with port 80 forwarded (see docs/cluster.md for why not bridge),
 * and a readiness probe on the guest's web server.
 */
export function vmObject(n: E2eNames): object {
  return {
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: n.vm, namespace: n.namespace },
    spec: {
      cpu: { cores: 1 },
      memory: { guest: "256Mi" },
      terminationGracePeriodSeconds: 60,
      firmware: testGuestBoot(
        n.guestImage,
        `console=ttyS0 panic=-1 vireo.dhcp=1 vireo.http=80 vireo.hostname=${n.vm} vireo.id=${n.guestId}`,
      ),
      disks: [{ name: "data" }, { name: "cloudinit" }],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: n.volume } },
        {
          name: "cloudinit",
          cloudInitNoCloud: { userData: `#cloud-config\n# ${n.cloudInitMarker}\nhostname: ${n.vm}\n` },
        },
      ],
      interfaces: [{ name: "default", binding: "masquerade", ports: [{ name: "http", port: 80 }] }],
      networks: [{ name: "default", pod: {} }],
      readinessProbe: { httpGet: { port: 80 }, periodSeconds: 2 },
    },
  };
}
