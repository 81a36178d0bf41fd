import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import type { VirtualMachine } from "../../crds/api/virtual-machine.ts";
import { launcherConfigSchema } from "../../crds/launcher/index.ts";
import {
  ANNOTATION_LAUNCHER_CONFIG,
  LAUNCHER_CONFIG_FILE,
  podPaths,
  NETWORK_STATUS_PATH,
} from "../../crds/contract/index.ts";
import { buildLauncherPod } from "./build.ts";
import type { PodInputs } from "./settings.ts";
import { memoryOverheadBytes } from "./resources.ts";
import { sizingOf } from "../../crds/launcher/resolve.ts";
import { launcherSpecHash } from "./spec-hash.ts";

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), "../../test/golden/operator");
const update = process.env.UPDATE_GOLDEN === "1";

const vm = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
  parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name: "web", namespace: "prod", uid: "0a1b2c3d-uid", ...metadata },
    spec: { memory: { guest: "1Gi" }, ...spec },
  });

const inputs: PodInputs = {
  launcherImage: "registry.example/vireo-launcher:1.0",
  imagePullPolicy: "IfNotPresent",
  emulation: false,
  defaultBinding: "bridge",
};

const rootPvc = {
  disks: [{ name: "root", bootOrder: 1 }],
  volumes: [{ name: "root", persistentVolumeClaim: { claimName: "web-root" } }],
};

const cases: Record<string, { vm: VirtualMachine; inputs: PodInputs }> = {
  "minimal-pvc": {
    vm: vm(rootPvc),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem", capacityBytes: 10 * 2 ** 30 } } },
  },
  "containerdisk-cloudinit": {
    vm: vm({
      cpu: { cores: 2 },
      disks: [{ name: "root", bootOrder: 1 }, { name: "cloudinit" }],
      volumes: [
        { name: "root", containerDisk: { image: "quay.io/containerdisks/debian:12" } },
        {
          name: "cloudinit",
          cloudInitNoCloud: { userDataSecretRef: { name: "web-userdata" }, networkData: "version: 2\n" },
        },
      ],
    }),
    inputs,
  },
  "masquerade-ports": {
    vm: vm({
      ...rootPvc,
      interfaces: [
        {
          name: "default",
          binding: "masquerade",
          ports: [
            { name: "http", port: 80 },
            { port: 53, protocol: "UDP" },
          ],
        },
      ],
    }),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem" } } },
  },
  "block-pvc": {
    vm: vm({
      disks: [{ name: "root", bootOrder: 1 }, { name: "data" }],
      volumes: [
        { name: "root", persistentVolumeClaim: { claimName: "web-root" } },
        { name: "data", persistentVolumeClaim: { claimName: "web-data", readOnly: true } },
      ],
    }),
    inputs: {
      ...inputs,
      claims: { "web-root": { volumeMode: "Block" }, "web-data": { volumeMode: "Block" } },
    },
  },
  hugepages: {
    vm: vm({ ...rootPvc, memory: { guest: "2Gi", hugepages: { pageSize: "2Mi" } } }),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem" } } },
  },
  "emulation-passt": {
    vm: vm({ ...rootPvc, interfaces: [{ name: "default", binding: "passt", ports: [{ port: 22 }] }] }),
    inputs: { ...inputs, emulation: true, claims: { "web-root": { volumeMode: "Filesystem" } } },
  },
  "probes-scheduling": {
    vm: vm(
      {
        ...rootPvc,
        terminationGracePeriodSeconds: 30,
        readinessProbe: { httpGet: { port: 8080, path: "/healthz" }, periodSeconds: 5 },
        livenessProbe: { tcpSocket: { port: 22 }, initialDelaySeconds: 120, failureThreshold: 5 },
        nodeSelector: { "vireo.dev/kvm": "true" },
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
            },
          },
        },
        tolerations: [{ key: "dedicated", operator: "Equal", value: "vms", effect: "NoSchedule" }],
        priorityClassName: "vm-high",
      },
      { annotations: { "vireo.dev/restartedAt": "2025-01-02T03:04:05Z" } },
    ),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem" } }, startFailures: 2 },
  },
  "pull-secrets-overhead": {
    vm: vm(rootPvc),
    inputs: {
      ...inputs,
      claims: { "web-root": { volumeMode: "Filesystem" } },
      imagePullSecrets: ["regcred", "mirror.creds"],
      memoryOverheadBaseBytes: 256 * 2 ** 20,
    },
  },
  multus: {
    vm: vm({
      ...rootPvc,
      interfaces: [{ name: "default" }, { name: "storage" }, { name: "backup" }],
      networks: [
        { name: "default", pod: {} },
        { name: "storage", multus: { networkName: "storage-net" } },
        { name: "backup", multus: { networkName: "infra/backup-net" } },
      ],
    }),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem" } } },
  },
  uefi: {
    vm: vm({ ...rootPvc, firmware: { uefi: { secureBoot: true } }, devices: { vnc: true } }),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem" } } },
  },
  "uefi-persistent": {
    vm: vm({ ...rootPvc, firmware: { uefi: { persistent: true } } }),
    inputs: { ...inputs, claims: { "web-root": { volumeMode: "Filesystem" } } },
  },
  "dedicated-cpus": {
    vm: vm({
      cpu: {
        cores: 2,
        dedicatedCpuPlacement: true,
        isolateEmulatorThread: true,
        numa: { guestMappingPassthrough: {} },
      },
      memory: { guest: "2Gi", hugepages: { pageSize: "2Mi" } },
      disks: [{ name: "root", bootOrder: 1 }],
      volumes: [{ name: "root", containerDisk: { image: "quay.io/containerdisks/debian:12" } }],
    }),
    inputs,
  },
  "kernel-boot-microvm": {
    vm: vm({
      machine: { type: "microvm" },
      firmware: {
        kernelBoot: {
          image: "registry.example/kernels:6.1",
          kernelPath: "/boot/vmlinuz",
          initrdPath: "/boot/initrd.img",
          cmdline: "console=ttyS0",
        },
      },
      disks: [{ name: "scratch" }, { name: "cfg" }],
      volumes: [
        { name: "scratch", emptyDisk: { capacity: "1Gi" } },
        { name: "cfg", configMap: { name: "web-config" } },
      ],
    }),
    inputs,
  },
};

const container = (pod: V1Pod, name: string): V1Container => {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const c = all.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
};

/** The launcher config the pod carries (its annotation, which netsetup and the launcher read as a file). */
const configOf = (pod: V1Pod) =>
  launcherConfigSchema.parse(JSON.parse(pod.metadata?.annotations?.[ANNOTATION_LAUNCHER_CONFIG] ?? "null"));

describe("buildLauncherPod golden files", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const text = stringify(buildLauncherPod(c.vm, c.inputs), { lineWidth: 0 });
      const file = join(goldenDir, `${name}.yaml`);
      if (update || !existsSync(file)) {
        if (!update) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1`);
        mkdirSync(goldenDir, { recursive: true });
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, "utf8"));
    });
  }
});

describe("buildLauncherPod", () => {
  it("is deterministic and carries a launcher config the launcher's strict schema accepts", () => {
    for (const c of Object.values(cases)) {
      const a = buildLauncherPod(c.vm, c.inputs);
      expect(buildLauncherPod(c.vm, c.inputs)).toEqual(a);
      expect(() => launcherConfigSchema.parse(configOf(a))).not.toThrow();
      // Every container that reads the config gets it as the file, none as an environment variable.
      const readers = [...(a.spec?.initContainers ?? []), ...(a.spec?.containers ?? [])].filter((k) =>
        k.command?.includes("--config"),
      );
      expect(readers.map((k) => k.name)).toEqual(
        a.spec?.initContainers?.some((k) => k.name === "netsetup") ? ["netsetup", "launcher"] : ["launcher"],
      );
      for (const k of readers) {
        expect(k.command?.at(-1)).toBe(LAUNCHER_CONFIG_FILE);
        expect(k.env ?? []).toEqual([]);
        const mount = k.volumeMounts?.find((m) => m.name === "launcher-config");
        const item = a.spec?.volumes?.find((v) => v.name === "launcher-config")?.downwardAPI?.items?.[0];
        expect(`${mount?.mountPath}/${item?.path}`).toBe(LAUNCHER_CONFIG_FILE);
        expect(item?.fieldRef?.fieldPath).toBe(`metadata.annotations['${ANNOTATION_LAUNCHER_CONFIG}']`);
        expect(mount?.readOnly).toBe(true);
      }
    }
  });

  it("passes 64 KiB of inline cloud-init user-data and network-config, which an environment variable cannot", () => {
    // The API's own limit for inline data, each: 64 KiB.
    const fill = (head: string) => head + "#".repeat(64 * 1024 - head.length);
    const userData = fill("#cloud-config\n");
    const networkData = fill("version: 2\n");
    const pod = buildLauncherPod(
      vm({
        disks: [{ name: "ci" }],
        volumes: [{ name: "ci", cloudInitNoCloud: { userData, networkData } }],
      }),
      inputs,
    );
    const text = pod.metadata?.annotations?.[ANNOTATION_LAUNCHER_CONFIG] ?? "";
    // exec refuses one environment string over 128 KiB (MAX_ARG_STRLEN); annotations may total 256 KiB.
    expect(Buffer.byteLength(text)).toBeGreaterThan(128 * 1024);
    const all = Object.entries(pod.metadata?.annotations ?? {}).reduce(
      (n, [k, v]) => n + k.length + v.length,
      0,
    );
    expect(all).toBeLessThan(256 * 1024);
    const ci = configOf(pod).disks.find((d) => d.name === "ci")?.source;
    expect(ci).toMatchObject({ kind: "cloudInit", userData, networkData });
  });

  it("adds the privileged netsetup step only when a NIC needs a tap (not for passt-only or NIC-less VMs)", () => {
    const names = (pod: V1Pod) => (pod.spec?.initContainers ?? []).map((k) => k.name);
    const passt = buildLauncherPod(
      vm({ interfaces: [{ name: "default", binding: "passt" }], networks: [{ name: "default", pod: {} }] }),
      inputs,
    );
    expect(names(passt)).not.toContain("netsetup");
    expect(container(passt, "launcher").resources?.limits?.["devices.vireo.dev/tun"]).toBeUndefined();
    const none = buildLauncherPod(vm({ interfaces: [], networks: [] }), inputs);
    expect(names(none)).not.toContain("netsetup");
    for (const binding of ["bridge", "masquerade"])
      expect(
        names(
          buildLauncherPod(
            vm({ interfaces: [{ name: "default", binding }], networks: [{ name: "default", pod: {} }] }),
            inputs,
          ),
        ),
      ).toContain("netsetup");
  });

  it("runs the launcher non-root with no capabilities and netsetup with NET_ADMIN only", () => {
    const pod = buildLauncherPod(cases["minimal-pvc"]!.vm, cases["minimal-pvc"]!.inputs);
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.securityContext?.seccompProfile).toEqual({ type: "RuntimeDefault" });
    expect(container(pod, "launcher").securityContext).toMatchObject({
      runAsUser: 107,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container(pod, "launcher").securityContext?.capabilities?.add).toBeUndefined();
    expect(container(pod, "netsetup").securityContext?.capabilities).toEqual({
      drop: ["ALL"],
      add: ["NET_ADMIN"],
    });
    expect(container(pod, "netsetup").command).toEqual([
      "vireo-launcher",
      "netsetup",
      "--config",
      LAUNCHER_CONFIG_FILE,
    ]);
    const mounts = container(pod, "launcher").volumeMounts?.map((m) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining([podPaths().runDir, podPaths().stateDir]));
  });

  it("requests guest memory plus the documented overhead, and devices unless emulating", () => {
    const c = cases["minimal-pvc"]!;
    const pod = buildLauncherPod(c.vm, c.inputs);
    const req = container(pod, "launcher").resources?.requests ?? {};
    // 128 MiB + 2 MiB × 1 vCPU + 1 GiB / 512 (2 MiB), plus the 1 GiB guest.
    expect(memoryOverheadBytes(sizingOf(c.vm.spec))).toBe(132 * 2 ** 20);
    // swtpm beside QEMU: 8 MiB more.
    expect(memoryOverheadBytes(sizingOf(vm({ devices: { tpm: {} } }).spec))).toBe(140 * 2 ** 20);
    expect(req.memory).toBe(`${1024 + 132}Mi`);
    expect(req["devices.vireo.dev/kvm"]).toBe("1");
    expect(req["devices.vireo.dev/tun"]).toBe("1");
    expect(req["devices.vireo.dev/vhost-net"]).toBe("1");
    const emu = buildLauncherPod(c.vm, { ...c.inputs, emulation: true });
    expect(container(emu, "launcher").resources?.requests?.["devices.vireo.dev/kvm"]).toBeUndefined();
    expect(container(emu, "launcher").resources?.requests?.["devices.vireo.dev/vhost-net"]).toBeUndefined();
    expect(container(emu, "launcher").resources?.requests?.["devices.vireo.dev/tun"]).toBe("1");
    expect(configOf(emu).accelerator).toEqual({ allowEmulation: true });
  });

  it("replaces the overhead's fixed part when the operator sets one, and lists pull Secrets", () => {
    const c = cases["minimal-pvc"]!;
    // 512 MiB base instead of 128 MiB; the per-vCPU and per-guest terms stay: 512 + 2 + 2.
    const pod = buildLauncherPod(c.vm, {
      ...c.inputs,
      memoryOverheadBaseBytes: 512 * 2 ** 20,
      imagePullSecrets: ["regcred", "mirror.creds"],
    });
    expect(container(pod, "launcher").resources?.requests?.memory).toBe(`${1024 + 516}Mi`);
    expect(pod.spec?.imagePullSecrets).toEqual([{ name: "regcred" }, { name: "mirror.creds" }]);
    const none = buildLauncherPod(c.vm, { ...c.inputs, memoryOverheadBaseBytes: 0, imagePullSecrets: [] });
    expect(container(none, "launcher").resources?.requests?.memory).toBe(`${1024 + 4}Mi`);
    expect(none.spec?.imagePullSecrets).toBeUndefined();
  });

  it("asks Multus for secondary networks and gives netsetup the network-status file the launcher reads", () => {
    const pod = buildLauncherPod(cases.multus!.vm, cases.multus!.inputs);
    expect(pod.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"]).toBe("storage-net,infra/backup-net");
    const mount = container(pod, "netsetup").volumeMounts?.find((m) => m.name === "podinfo");
    expect(mount).toEqual({ name: "podinfo", mountPath: "/etc/podinfo", readOnly: true });
    const volume = pod.spec?.volumes?.find((v) => v.name === "podinfo");
    const item = volume?.downwardAPI?.items?.[0];
    expect(`${mount?.mountPath}/${item?.path}`).toBe(NETWORK_STATUS_PATH);
    expect(item?.fieldRef?.fieldPath).toBe("metadata.annotations['k8s.v1.cni.cncf.io/network-status']");
    // The launcher container plans from netsetup's record and does not need the file.
    expect(container(pod, "launcher").volumeMounts?.some((m) => m.name === "podinfo")).toBe(false);

    const plain = buildLauncherPod(cases["minimal-pvc"]!.vm, cases["minimal-pvc"]!.inputs);
    expect(plain.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"]).toBeUndefined();
    expect(plain.spec?.volumes?.some((v) => v.name === "podinfo")).toBe(false);
    expect(container(plain, "netsetup").volumeMounts?.some((m) => m.name === "podinfo")).toBe(false);
  });

  it("attaches Filesystem claims as mounts and Block claims as devices", () => {
    const fs = buildLauncherPod(cases["minimal-pvc"]!.vm, cases["minimal-pvc"]!.inputs);
    expect(container(fs, "launcher").volumeMounts).toContainEqual({
      name: "pvc-root",
      mountPath: "/var/run/vireo/volumes/root",
      readOnly: false,
    });
    const blk = buildLauncherPod(cases["block-pvc"]!.vm, cases["block-pvc"]!.inputs);
    expect(container(blk, "launcher").volumeDevices).toEqual([
      { name: "pvc-root", devicePath: "/dev/vireo/root" },
      { name: "pvc-data", devicePath: "/dev/vireo/data" },
    ]);
    expect(blk.spec?.volumes).toContainEqual({
      name: "pvc-data",
      persistentVolumeClaim: { claimName: "web-data", readOnly: true },
    });
  });

  it("mounts cloud-init Secrets where the launcher config says, and copies container disks", () => {
    const c = cases["containerdisk-cloudinit"]!;
    const pod = buildLauncherPod(c.vm, c.inputs);
    const ci = configOf(pod).disks.find((d) => d.name === "cloudinit")?.source as { userDataDir: string };
    expect(container(pod, "launcher").volumeMounts).toContainEqual({
      name: "ud-cloudinit",
      mountPath: ci.userDataDir,
      readOnly: true,
    });
    expect(pod.spec?.volumes).toContainEqual({
      name: "ud-cloudinit",
      secret: { secretName: "web-userdata" },
    });
    const copy = container(pod, "copy-root");
    expect(copy.image).toBe("quay.io/containerdisks/debian:12");
    expect(copy.command?.slice(-1)).toEqual(["/var/run/vireo/container-disks/root"]);
    expect(pod.spec?.initContainers?.map((x) => x.name)).toEqual(["netsetup", "tools", "copy-root"]);
  });

  it("maps guest probes behind a launcher startup probe and passes scheduling through", () => {
    const c = cases["probes-scheduling"]!;
    const pod = buildLauncherPod(c.vm, c.inputs);
    const l = container(pod, "launcher");
    expect(l.startupProbe?.exec?.command).toEqual(["test", "-e", "/var/run/vireo/ready"]);
    expect(l.readinessProbe).toEqual({
      httpGet: { port: 8080, path: "/healthz", scheme: "HTTP" },
      periodSeconds: 5,
    });
    expect(l.livenessProbe).toEqual({
      tcpSocket: { port: 22 },
      initialDelaySeconds: 120,
      failureThreshold: 5,
    });
    expect(pod.spec?.nodeSelector).toEqual({ "vireo.dev/kvm": "true" });
    expect(pod.spec?.priorityClassName).toBe("vm-high");
    expect(pod.spec?.terminationGracePeriodSeconds).toBe(45);
    expect(pod.metadata?.annotations?.["vireo.dev/restartedAt"]).toBe("2025-01-02T03:04:05Z");
    expect(pod.metadata?.ownerReferences).toEqual([
      {
        apiVersion: "vireo.dev/v1alpha1",
        kind: "VirtualMachine",
        name: "web",
        uid: "0a1b2c3d-uid",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const minimal = buildLauncherPod(cases["minimal-pvc"]!.vm, cases["minimal-pvc"]!.inputs);
    expect(container(minimal, "launcher").readinessProbe?.exec?.command).toEqual([
      "test",
      "-e",
      "/var/run/vireo/ready",
    ]);
    expect(container(minimal, "launcher").startupProbe).toBeUndefined();
  });

  it("requests hugepages instead of guest memory", () => {
    const c = cases.hugepages!;
    const r = container(buildLauncherPod(c.vm, c.inputs), "launcher").resources;
    expect(r?.requests?.["hugepages-2Mi"]).toBe("2048Mi");
    expect(r?.limits?.["hugepages-2Mi"]).toBe("2048Mi");
    expect(r?.requests?.memory).toBe(`${memoryOverheadBytes(sizingOf(c.vm.spec)) / 2 ** 20}Mi`);
  });

  it("makes a dedicated-CPU pod Guaranteed: whole CPUs, every container's limits equal to its requests", () => {
    const c = cases["dedicated-cpus"]!;
    const pod = buildLauncherPod(c.vm, c.inputs);
    const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    expect(all.length).toBeGreaterThan(2); // netsetup, tools, a copy step and the launcher
    for (const x of all) {
      expect(x.resources?.limits, x.name).toEqual(x.resources?.requests);
      expect(x.resources?.requests?.cpu, x.name).toBeDefined();
      expect(x.resources?.requests?.memory, x.name).toBeDefined();
    }
    expect(container(pod, "launcher").resources?.requests?.cpu).toBe("3"); // 2 vCPUs + the emulator's
    expect(configOf(pod).cpu.dedicated).toEqual({ isolateEmulatorThread: true, numaPassthrough: true });
  });

  it("hashes the spec without runStrategy and without regard to key order", () => {
    const a = vm({ ...rootPvc, nodeSelector: { a: "1", b: "2" } });
    const b = vm({ ...rootPvc, nodeSelector: { b: "2", a: "1" }, runStrategy: "Halted" });
    expect(launcherSpecHash(a.spec)).toBe(launcherSpecHash(b.spec));
    expect(launcherSpecHash(vm({ ...rootPvc, memory: { guest: "2Gi" } }).spec)).not.toBe(
      launcherSpecHash(a.spec),
    );
  });

  it("golden files parse as pods", () => {
    for (const name of Object.keys(cases)) {
      const pod = parse(readFileSync(join(goldenDir, `${name}.yaml`), "utf8")) as V1Pod;
      expect(pod.kind).toBe("Pod");
    }
  });
});
