/**
 * `buildImporterPod`: the short-lived pod that fills a DataVolume's claim, as a pure function of the
 * DataVolume and a few looked-up facts. It runs `vireo-importer` from the launcher image as uid 107 with no
 * capabilities, a read-only root filesystem and no service-account token: it reports through its termination
 * message and its progress port, never through the API.
 */
import type { V1Container, V1Pod, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { DataVolume } from "../../crds/api/datavolume.ts";
import { LAUNCHER_GID } from "../../crds/contract/pod-layout.ts";
import {
  IMPORTER_CONFIG_ENV,
  IMPORTER_CONFIG_VERSION,
  IMPORTER_PROGRESS_PORT,
  type ImporterConfigInput,
} from "../../crds/importer/config.ts";
import { BUSYBOX_IN_LAUNCHER_IMAGE, unprivileged } from "../pod/volumes.ts";
import { initContainerResources } from "../pod/resources.ts";
import { dataVolumeLabels, dvOwner } from "./claim.ts";
import { dataVolumeClaimName, IMPORTER_CONTAINER, importerPodName, UPLOAD_PORT } from "./names.ts";

/** Paths inside the importer pod. */
export const IMPORTER_PATHS = {
  target: "/var/run/vireo/target",
  targetDevice: "/dev/vireo-target",
  source: "/var/run/vireo/source",
  sourceDevice: "/dev/vireo-source",
  scratch: "/var/run/vireo/scratch",
  ca: "/etc/vireo/import-ca",
  credentials: "/etc/vireo/import-credentials",
  tools: "/var/run/vireo-tools",
} as const;

/** Inputs besides the DataVolume. */
export interface ImporterPodInputs {
  /** The launcher image, which carries vireo-importer, qemu-img, curl and xz. */
  image: string;
  imagePullPolicy: string;
  imagePullSecrets?: string[];
  /** Capacity of the bound claim (status.capacity; the request until it binds). */
  capacityBytes: number;
  /** For a clone: the source claim's volume mode. */
  sourceVolumeMode?: "Filesystem" | "Block";
}

/** What the source adds to the pod: volumes, mounts, init containers and the importer's source. */
interface SourcePlumbing {
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  devices: { name: string; devicePath: string }[];
  initContainers: V1Container[];
  source: ImporterConfigInput["source"];
}

// A containerDisk image keeps its disk under /disk/; copy the one file (or the named one) to scratch with
// busybox brought from the launcher image (containerDisk images are FROM scratch).
const COPY_REGISTRY_DISK =
  'if [ -n "$2" ]; then f="$2"; else set -- "$1" /disk/*; [ $# -eq 2 ] || { echo "expected one file under /disk/" >&2; exit 1; }; f="$2"; fi; cp "$f" "$1"';

function sourcePlumbing(dv: DataVolume, inputs: ImporterPodInputs): SourcePlumbing {
  const src = dv.spec.source;
  const p: SourcePlumbing = {
    volumes: [],
    mounts: [],
    devices: [],
    initContainers: [],
    source: { kind: "blank" },
  };
  if (src.http) {
    const h = src.http;
    const [algorithm, hex] = (h.checksum ?? ":").split(":") as [string, string];
    if (h.certConfigMap) {
      p.volumes.push({ name: "ca", configMap: { name: h.certConfigMap } });
      p.mounts.push({ name: "ca", mountPath: IMPORTER_PATHS.ca, readOnly: true });
    }
    if (h.secretRef) {
      p.volumes.push({ name: "credentials", secret: { secretName: h.secretRef } });
      p.mounts.push({ name: "credentials", mountPath: IMPORTER_PATHS.credentials, readOnly: true });
    }
    p.source = {
      kind: "http",
      url: h.url,
      ...(h.checksum ? { checksum: { algorithm: algorithm as "sha256" | "sha512", hex } } : {}),
      ...(h.certConfigMap ? { caFile: `${IMPORTER_PATHS.ca}/ca.pem` } : {}),
      ...(h.secretRef ? { credentialsDir: IMPORTER_PATHS.credentials } : {}),
    };
  } else if (src.registry) {
    const r = src.registry;
    const file = `${IMPORTER_PATHS.scratch}/registry-disk`;
    p.volumes.push({ name: "tools", emptyDir: {} });
    p.initContainers.push(
      {
        name: "tools",
        image: inputs.image,
        imagePullPolicy: inputs.imagePullPolicy,
        command: ["cp", BUSYBOX_IN_LAUNCHER_IMAGE, `${IMPORTER_PATHS.tools}/busybox`],
        securityContext: unprivileged(),
        resources: initContainerResources(),
        volumeMounts: [{ name: "tools", mountPath: IMPORTER_PATHS.tools }],
      },
      {
        name: "copy-disk",
        image: r.image,
        ...(r.pullPolicy ? { imagePullPolicy: r.pullPolicy } : {}),
        command: [
          `${IMPORTER_PATHS.tools}/busybox`,
          "sh",
          "-c",
          COPY_REGISTRY_DISK,
          "copy",
          file,
          r.path ?? "",
        ],
        securityContext: unprivileged(),
        resources: initContainerResources(),
        volumeMounts: [
          { name: "tools", mountPath: IMPORTER_PATHS.tools, readOnly: true },
          { name: "scratch", mountPath: IMPORTER_PATHS.scratch },
        ],
      },
    );
    p.source = { kind: "file", path: file };
  } else if (src.pvc) {
    p.volumes.push({ name: "source", persistentVolumeClaim: { claimName: src.pvc.name, readOnly: true } });
    if (inputs.sourceVolumeMode === "Block") {
      p.devices.push({ name: "source", devicePath: IMPORTER_PATHS.sourceDevice });
      p.source = { kind: "device", path: IMPORTER_PATHS.sourceDevice };
    } else {
      p.mounts.push({ name: "source", mountPath: IMPORTER_PATHS.source, readOnly: true });
      p.source = { kind: "file", path: `${IMPORTER_PATHS.source}/disk.img` };
    }
  } else if (src.upload) {
    p.source = { kind: "upload", port: UPLOAD_PORT };
  }
  return p;
}

/** The importer's config for `dv` (what the pod's env carries). */
export function importerConfigOf(dv: DataVolume, inputs: ImporterPodInputs): ImporterConfigInput {
  const block = dv.spec.storage.volumeMode === "Block";
  return {
    version: IMPORTER_CONFIG_VERSION,
    source: sourcePlumbing(dv, inputs).source,
    target: block
      ? { kind: "block", devicePath: IMPORTER_PATHS.targetDevice }
      : {
          kind: "filesystem",
          dir: IMPORTER_PATHS.target,
          capacityBytes: inputs.capacityBytes,
          format: dv.spec.format,
        },
    scratchDir: IMPORTER_PATHS.scratch,
    progressPort: IMPORTER_PROGRESS_PORT,
  };
}

/** The importer pod of `dv`. Pure: the same DataVolume and inputs give the same pod. */
export function buildImporterPod(dv: DataVolume, inputs: ImporterPodInputs): V1Pod {
  const name = dv.metadata.name ?? "";
  const block = dv.spec.storage.volumeMode === "Block";
  const plumbing = sourcePlumbing(dv, inputs);
  const config = importerConfigOf(dv, inputs);
  const ports = [{ name: "progress", containerPort: IMPORTER_PROGRESS_PORT, protocol: "TCP" }];
  if (plumbing.source.kind === "upload")
    ports.push({ name: "upload", containerPort: UPLOAD_PORT, protocol: "TCP" });
  const importer: V1Container = {
    name: IMPORTER_CONTAINER,
    image: inputs.image,
    imagePullPolicy: inputs.imagePullPolicy,
    command: ["vireo-importer"],
    env: [{ name: IMPORTER_CONFIG_ENV, value: JSON.stringify(config) }],
    ports,
    securityContext: unprivileged(),
    // curl, xz and qemu-img stream; qemu-img convert's buffers stay well under this (see docs/storage.md).
    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    terminationMessagePolicy: "File",
    volumeMounts: [
      ...(block ? [] : [{ name: "target", mountPath: IMPORTER_PATHS.target }]),
      { name: "scratch", mountPath: IMPORTER_PATHS.scratch },
      ...plumbing.mounts,
    ],
    ...(block || plumbing.devices.length
      ? {
          volumeDevices: [
            ...(block ? [{ name: "target", devicePath: IMPORTER_PATHS.targetDevice }] : []),
            ...plumbing.devices,
          ],
        }
      : {}),
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: importerPodName(name),
      namespace: dv.metadata.namespace ?? "default",
      labels: { ...dataVolumeLabels(name), "app.kubernetes.io/component": "importer" },
      ownerReferences: [dvOwner(dv)],
    },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        fsGroup: LAUNCHER_GID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      ...(inputs.imagePullSecrets?.length
        ? { imagePullSecrets: inputs.imagePullSecrets.map((n) => ({ name: n })) }
        : {}),
      ...(plumbing.initContainers.length ? { initContainers: plumbing.initContainers } : {}),
      containers: [importer],
      volumes: [
        { name: "target", persistentVolumeClaim: { claimName: dataVolumeClaimName(name) } },
        // Download and decompression space (CDI's scratch space), gone with the pod.
        { name: "scratch", emptyDir: {} },
        ...plumbing.volumes,
      ],
    },
  };
}
