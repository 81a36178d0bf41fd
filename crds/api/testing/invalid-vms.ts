/** The validation test table, shared by the unit tests of `vireo validate` and the admission parity test. */

type Obj = Record<string, unknown>;
/** A spec as the table writes it. */
export interface Spec extends Obj {
  memory: Obj;
  disks: Obj[];
  volumes: Obj[];
}
/** A manifest as the table writes it. */
export interface Manifest extends Obj {
  metadata: Obj;
  spec: Spec;
}

/** A valid base manifest; each case below breaks it in one way. */
export const base = (): Manifest => ({
  apiVersion: "vireo.dev/v1alpha1",
  kind: "VirtualMachine",
  metadata: { name: "vm1", namespace: "default" },
  spec: {
    memory: { guest: "1Gi" },
    disks: [{ name: "root", bootOrder: 1 }],
    volumes: [{ name: "root", persistentVolumeClaim: { claimName: "root-pvc" } }],
  },
});

/** The base manifest with its spec changed by `patch`. */
export const withSpec = (patch: (s: Spec) => void): Manifest => {
  const m = base();
  patch(m.spec);
  return m;
};

/** One invalid manifest: what is wrong, the manifest, the path `vireo validate` names, its message. */
export type InvalidCase = [string, () => unknown, string, RegExp];

/**
 * Invalid manifests, each breaking the base in one way. The unit test checks `vireo validate`'s path and
 * message for each; the admission parity test (test/integration/admission-parity.test.ts) checks that the API
 * server refuses each too, or that it is listed there with the reason CEL cannot express it.
 */
export const invalidVms: InvalidCase[] = [
  [
    "wrong apiVersion",
    () => ({ ...base(), apiVersion: "vireo.dev/v1" }),
    "apiVersion",
    /must be vireo\.dev\/v1alpha1/,
  ],
  ["wrong kind", () => ({ ...base(), kind: "VM" }), "kind", /must be VirtualMachine/],
  ["missing spec", () => ({ ...base(), spec: undefined }), "spec", /object/],
  [
    "name with uppercase",
    () => ({ ...base(), metadata: { name: "Vm1" } }),
    "metadata.name",
    /DNS-1123 label/,
  ],
  ["name with dots", () => ({ ...base(), metadata: { name: "a.b" } }), "metadata.name", /DNS-1123 label/],
  ["name too long", () => ({ ...base(), metadata: { name: "a".repeat(64) } }), "metadata.name", /at most 63/],
  ["unknown spec field", () => withSpec((s) => (s.foo = 1)), "spec.foo", /unknown field/],
  [
    "unknown nested field",
    () => withSpec((s) => (s.memory = { guest: "1Gi", size: "1Gi" })),
    "spec.memory.size",
    /unknown field/,
  ],
  ["bad runStrategy", () => withSpec((s) => (s.runStrategy = "Sometimes")), "spec.runStrategy", /Always/],
  ["missing memory", () => withSpec((s) => delete (s as Partial<Spec>).memory), "spec.memory", /object/],
  [
    "memory not a quantity",
    () => withSpec((s) => (s.memory = { guest: "1GB" })),
    "spec.memory.guest",
    /quantity/,
  ],
  ["memory too small", () => withSpec((s) => (s.memory = { guest: "1Mi" })), "spec.memory.guest", /between/],
  ["memory too large", () => withSpec((s) => (s.memory = { guest: "17Ti" })), "spec.memory.guest", /between/],
  [
    "fractional memory",
    () => withSpec((s) => (s.memory = { guest: "1.3" })),
    "spec.memory.guest",
    /whole number/,
  ],
  [
    "bad hugepage size",
    () => withSpec((s) => (s.memory = { guest: "1Gi", hugepages: { pageSize: "4Ki" } })),
    "spec.memory.hugepages.pageSize",
    /2Mi/,
  ],
  [
    "memory not a multiple of hugepage",
    () => withSpec((s) => (s.memory = { guest: "1536Mi", hugepages: { pageSize: "1Gi" } })),
    "spec.memory.guest",
    /multiple of the hugepage size/,
  ],
  ["zero sockets", () => withSpec((s) => (s.cpu = { sockets: 0 })), "spec.cpu.sockets", /at least 1/],
  ["too many cores", () => withSpec((s) => (s.cpu = { cores: 257 })), "spec.cpu.cores", /at most 256/],
  [
    "isolated emulator thread without dedicated CPUs",
    () => withSpec((s) => (s.cpu = { isolateEmulatorThread: true })),
    "spec.cpu.isolateEmulatorThread",
    /needs dedicatedCpuPlacement/,
  ],
  [
    "guest NUMA without dedicated CPUs",
    () => withSpec((s) => (s.cpu = { numa: { guestMappingPassthrough: {} } })),
    "spec.cpu.numa",
    /needs dedicatedCpuPlacement/,
  ],
  [
    "fractional threads",
    () => withSpec((s) => (s.cpu = { threads: 1.5 })),
    "spec.cpu.threads",
    /integer|int/i,
  ],
  [
    "bad cpu model",
    () => withSpec((s) => (s.cpu = { model: "host passthrough" })),
    "spec.cpu.model",
    /QEMU CPU model/,
  ],
  ["bad machine type", () => withSpec((s) => (s.machine = { type: "pc" })), "spec.machine.type", /q35/],
  [
    "two firmwares",
    () => withSpec((s) => (s.firmware = { bios: {}, uefi: {} })),
    "spec.firmware",
    /exactly one of bios, uefi, kernelBoot \(found bios, uefi\)/,
  ],
  [
    "empty firmware",
    () => withSpec((s) => (s.firmware = {})),
    "spec.firmware",
    /exactly one of bios, uefi, kernelBoot/,
  ],
  [
    "persistent UEFI not a boolean",
    () => withSpec((s) => (s.firmware = { uefi: { persistent: "yes" } })),
    "spec.firmware.uefi.persistent",
    /boolean/,
  ],
  [
    "state storage class not a DNS-1123 subdomain",
    () =>
      withSpec((s) => {
        s.firmware = { uefi: { persistent: true } };
        s.stateStorage = { storageClassName: "Fast_SSD" };
      }),
    "spec.stateStorage.storageClassName",
    /DNS-1123 subdomain/,
  ],
  [
    "kernelBoot relative path",
    () => withSpec((s) => (s.firmware = { kernelBoot: { image: "x", kernelPath: "vmlinuz" } })),
    "spec.firmware.kernelBoot.kernelPath",
    /absolute path/,
  ],
  [
    "microvm without kernelBoot",
    () => withSpec((s) => (s.machine = { type: "microvm" })),
    "spec.machine.type",
    /microvm boots only with firmware.kernelBoot/,
  ],
  [
    "microvm with sata",
    () =>
      withSpec((s) => {
        s.machine = { type: "microvm" };
        s.firmware = { kernelBoot: { image: "k", kernelPath: "/k" } };
        s.disks = [{ name: "root", bus: "sata" }];
      }),
    "spec.disks[0].bus",
    /not available on microvm/,
  ],
  [
    "disk name not DNS-1123",
    () => withSpec((s) => (s.disks = [{ name: "Root" }])),
    "spec.disks[0].name",
    /DNS-1123 label/,
  ],
  [
    "duplicate disk names",
    () => withSpec((s) => (s.disks = [{ name: "root" }, { name: "root" }])),
    "spec.disks[1].name",
    /duplicate name "root"/,
  ],
  [
    "disk without volume",
    () => withSpec((s) => (s.disks = [{ name: "root" }, { name: "data" }])),
    "spec.disks[1].name",
    /no volume of the same name/,
  ],
  [
    "volume without disk",
    () => withSpec((s) => s.volumes.push({ name: "extra", persistentVolumeClaim: { claimName: "x" } })),
    "spec.volumes[1].name",
    /not used by any disk/,
  ],
  [
    "volume with two sources",
    () =>
      withSpec(
        (s) =>
          (s.volumes = [
            {
              name: "root",
              persistentVolumeClaim: { claimName: "x" },
              emptyDisk: { capacity: "1Gi" },
            } as never,
          ]),
      ),
    "spec.volumes[0]",
    /exactly one of .* \(found persistentVolumeClaim, emptyDisk\)/,
  ],
  [
    "volume with no source",
    () => withSpec((s) => (s.volumes = [{ name: "root" } as never])),
    "spec.volumes[0]",
    /exactly one of/,
  ],
  [
    "bad claim name",
    () => withSpec((s) => (s.volumes = [{ name: "root", persistentVolumeClaim: { claimName: "Bad_Name" } }])),
    "spec.volumes[0].persistentVolumeClaim.claimName",
    /DNS-1123 subdomain/,
  ],
  [
    "bad bus",
    () => withSpec((s) => (s.disks = [{ name: "root", bus: "ide" } as never])),
    "spec.disks[0].bus",
    /virtio/,
  ],
  [
    "bootOrder zero",
    () => withSpec((s) => (s.disks = [{ name: "root", bootOrder: 0 }])),
    "spec.disks[0].bootOrder",
    /at least 1/,
  ],
  [
    "duplicate bootOrder",
    () =>
      withSpec((s) => {
        s.disks = [
          { name: "root", bootOrder: 1 },
          { name: "data", bootOrder: 1 },
        ];
        s.volumes.push({ name: "data", persistentVolumeClaim: { claimName: "d" } });
      }),
    "spec.disks[1].bootOrder",
    /bootOrder 1 is already used by disks.0/,
  ],
  [
    "read-only SATA hard disk",
    () => withSpec((s) => (s.disks = [{ name: "root", bus: "sata", readOnly: true }])),
    "spec.disks[0].readOnly",
    /SATA hard disk cannot be read-only/,
  ],
  [
    "serial too long",
    () => withSpec((s) => (s.disks = [{ name: "root", serial: "x".repeat(21) } as never])),
    "spec.disks[0].serial",
    /1-20 characters/,
  ],
  [
    "emptyDisk too small",
    () => withSpec((s) => (s.volumes = [{ name: "root", emptyDisk: { capacity: "1Ki" } } as never])),
    "spec.volumes[0].emptyDisk.capacity",
    /between/,
  ],
  [
    "cloud-init inline and secret",
    () =>
      withSpec((s) => {
        s.disks.push({ name: "ci" } as never);
        s.volumes.push({
          name: "ci",
          cloudInitNoCloud: { userData: "#cloud-config", userDataSecretRef: { name: "s" } },
        } as never);
      }),
    "spec.volumes[1].cloudInitNoCloud",
    /userData or userDataSecretRef, not both/,
  ],
  [
    "containerDisk named kernel beside kernelBoot",
    () =>
      withSpec((s) => {
        s.firmware = { kernelBoot: { image: "k", kernelPath: "/k" } };
        s.disks.push({ name: "kernel" } as never);
        s.volumes.push({ name: "kernel", containerDisk: { image: "img" } } as never);
      }),
    "spec.volumes[1].name",
    /no containerDisk volume may be named "kernel"/,
  ],
  [
    "a volume where the cloud-init Secret mounts",
    () =>
      withSpec((s) => {
        s.disks.push({ name: "ci" } as never, { name: "ci-userdata" } as never);
        s.volumes.push(
          { name: "ci", cloudInitNoCloud: { userDataSecretRef: { name: "s" } } } as never,
          { name: "ci-userdata", configMap: { name: "cm" } } as never,
        );
      }),
    "spec.volumes[2].name",
    /where cloud-init volume "ci" mounts its Secret/,
  ],
  [
    "two cloud-init volumes",
    () =>
      withSpec((s) => {
        s.disks.push({ name: "ci1" } as never, { name: "ci2" } as never);
        s.volumes.push(
          { name: "ci1", cloudInitNoCloud: { userData: "a" } } as never,
          { name: "ci2", cloudInitNoCloud: { userData: "b" } } as never,
        );
      }),
    "spec.volumes",
    /at most one cloudInitNoCloud/,
  ],
  [
    "cloud-init too large",
    () =>
      withSpec((s) => {
        s.disks.push({ name: "ci" } as never);
        s.volumes.push({ name: "ci", cloudInitNoCloud: { userData: "x".repeat(70000) } } as never);
      }),
    "spec.volumes[1].cloudInitNoCloud.userData",
    /use userDataSecretRef/,
  ],
  [
    "bad MAC",
    () => withSpec((s) => (s.interfaces = [{ name: "default", macAddress: "02:00:00:00:00" }])),
    "spec.interfaces[0].macAddress",
    /MAC address/,
  ],
  [
    "multicast MAC",
    () => withSpec((s) => (s.interfaces = [{ name: "default", macAddress: "03:00:00:00:00:01" }])),
    "spec.interfaces[0].macAddress",
    /unicast/,
  ],
  [
    "bad binding",
    () => withSpec((s) => (s.interfaces = [{ name: "default", binding: "slirp" } as never])),
    "spec.interfaces[0].binding",
    /bridge/,
  ],
  [
    "bad NIC model",
    () => withSpec((s) => (s.interfaces = [{ name: "default", model: "ne2k" } as never])),
    "spec.interfaces[0].model",
    /virtio/,
  ],
  [
    "UDP port with bridge",
    () =>
      withSpec(
        (s) =>
          (s.interfaces = [{ name: "default", binding: "bridge", ports: [{ port: 53, protocol: "UDP" }] }]),
      ),
    "spec.interfaces[0].ports",
    /TCP only/,
  ],
  [
    "port out of range",
    () =>
      withSpec(
        (s) => (s.interfaces = [{ name: "default", binding: "masquerade", ports: [{ port: 70000 }] }]),
      ),
    "spec.interfaces[0].ports[0].port",
    /between 1 and 65535/,
  ],
  [
    "bad port protocol",
    () =>
      withSpec(
        (s) =>
          (s.interfaces = [
            { name: "default", binding: "masquerade", ports: [{ port: 80, protocol: "SCTP" }] } as never,
          ]),
      ),
    "spec.interfaces[0].ports[0].protocol",
    /TCP/,
  ],
  [
    "interface without network",
    () =>
      withSpec((s) => {
        s.interfaces = [{ name: "default" }, { name: "storage" }];
      }),
    "spec.interfaces[1].name",
    /no network of the same name/,
  ],
  [
    "network without interface",
    () =>
      withSpec((s) => {
        s.networks = [
          { name: "default", pod: {} },
          { name: "storage", multus: { networkName: "storage" } },
        ];
      }),
    "spec.networks[1].name",
    /not used by any interface/,
  ],
  [
    "network with two kinds",
    () => withSpec((s) => (s.networks = [{ name: "default", pod: {}, multus: { networkName: "x" } }])),
    "spec.networks[0]",
    /exactly one of pod, multus/,
  ],
  [
    "two pod networks",
    () =>
      withSpec((s) => {
        s.interfaces = [{ name: "a" }, { name: "b" }];
        s.networks = [
          { name: "a", pod: {} },
          { name: "b", pod: {} },
        ];
      }),
    "spec.networks",
    /at most one network may be the pod network/,
  ],
  [
    "masquerade on multus",
    () =>
      withSpec((s) => {
        s.interfaces = [{ name: "default" }, { name: "storage", binding: "masquerade" }];
        s.networks = [
          { name: "default", pod: {} },
          { name: "storage", multus: { networkName: "storage" } },
        ];
      }),
    "spec.interfaces[1].binding",
    /only for the pod network/,
  ],
  [
    "pod interface not first",
    () =>
      withSpec((s) => {
        s.interfaces = [{ name: "storage" }, { name: "default" }];
        s.networks = [
          { name: "default", pod: {} },
          { name: "storage", multus: { networkName: "storage" } },
        ];
      }),
    "spec.interfaces[1]",
    /must be the first interface/,
  ],
  [
    "bad vmNetworkCIDR",
    () => withSpec((s) => (s.networks = [{ name: "default", pod: { vmNetworkCIDR: "10.0.2.0" } }])),
    "spec.networks[0].pod.vmNetworkCIDR",
    /IPv4 CIDR/,
  ],
  [
    "vmNetworkCIDR too small",
    () => withSpec((s) => (s.networks = [{ name: "default", pod: { vmNetworkCIDR: "10.0.2.0/31" } }])),
    "spec.networks[0].pod.vmNetworkCIDR",
    /room for a gateway/,
  ],
  [
    "bad multus name",
    () =>
      withSpec((s) => {
        s.interfaces = [{ name: "default" }, { name: "storage" }];
        s.networks = [
          { name: "default", pod: {} },
          { name: "storage", multus: { networkName: "a/b/c" } },
        ];
      }),
    "spec.networks[1].multus.networkName",
    /NetworkAttachmentDefinition/,
  ],
  [
    "negative grace period",
    () => withSpec((s) => (s.terminationGracePeriodSeconds = -1)),
    "spec.terminationGracePeriodSeconds",
    />=0|at least|too small/i,
  ],
  [
    "probe with two handlers",
    () => withSpec((s) => (s.readinessProbe = { httpGet: { port: 80 }, tcpSocket: { port: 80 } })),
    "spec.readinessProbe",
    /exactly one of httpGet, tcpSocket/,
  ],
  [
    "probe path relative",
    () => withSpec((s) => (s.livenessProbe = { httpGet: { port: 80, path: "health" } })),
    "spec.livenessProbe.httpGet.path",
    /must start with \//,
  ],
  [
    "bad toleration effect",
    () => withSpec((s) => (s.tolerations = [{ key: "a", effect: "Sometimes" }])),
    "spec.tolerations[0].effect",
    /NoSchedule/,
  ],
  [
    "nodeSelector with non-string",
    () => withSpec((s) => (s.nodeSelector = { zone: 1 })),
    "spec.nodeSelector.zone",
    /string/,
  ],
  [
    "devices unknown field",
    () => withSpec((s) => (s.devices = { gpu: true })),
    "spec.devices.gpu",
    /unknown field/,
  ],
  // Each cross-field rule broken at least once (crds/api/rules-cel.test.ts counts them).
  [
    "too many vCPUs",
    () => withSpec((s) => (s.cpu = { sockets: 2, cores: 256, threads: 2 })),
    "spec.cpu",
    /at most 512/,
  ],
  [
    "ports on a Multus network",
    () =>
      withSpec((s) => {
        s.interfaces = [{ name: "default" }, { name: "storage", binding: "bridge", ports: [{ port: 80 }] }];
        s.networks = [
          { name: "default", pod: {} },
          { name: "storage", multus: { networkName: "storage" } },
        ];
      }),
    "spec.interfaces[1].ports",
    /Multus network/,
  ],
  [
    "interface with a disk's bootOrder",
    () => withSpec((s) => (s.interfaces = [{ name: "default", bootOrder: 1 }])),
    "spec.interfaces[0].bootOrder",
    /already used by disks\.0/,
  ],
  [
    "cloud-init network data inline and secret",
    () =>
      withSpec((s) => {
        s.disks.push({ name: "ci" } as never);
        s.volumes.push({
          name: "ci",
          cloudInitNoCloud: { networkData: "version: 2", networkDataSecretRef: { name: "s" } },
        } as never);
      }),
    "spec.volumes[1].cloudInitNoCloud",
    /networkData or networkDataSecretRef/,
  ],
  [
    "read-only claim on a SATA hard disk",
    () =>
      withSpec((s) => {
        s.disks = [{ name: "root", bus: "sata" }];
        s.volumes = [{ name: "root", persistentVolumeClaim: { claimName: "root-pvc", readOnly: true } }];
      }),
    "spec.disks[0].readOnly",
    /SATA hard disk cannot be read-only/,
  ],
  [
    "network with no kind",
    () => withSpec((s) => (s.networks = [{ name: "default" }])),
    "spec.networks[0]",
    /exactly one of pod, multus/,
  ],
  [
    "probe with no handler",
    () => withSpec((s) => (s.livenessProbe = { periodSeconds: 5 })),
    "spec.livenessProbe",
    /exactly one of httpGet, tcpSocket/,
  ],
];
