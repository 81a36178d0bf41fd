/**
 * `vireo image-upload --image-path FILE dv/NAME`: streams a local image into a DataVolume through the API
 * server — a port-forward to the DataVolume's importer pod, whose upload server checks and writes it (so
 * RBAC and audit apply as to `kubectl port-forward`). Creates the DataVolume with --size when missing.
 */
import { createServer, type Socket } from "node:net";
import { PortForward, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { DATAVOLUME_API_VERSION, DATAVOLUME_KIND } from "../crds/api/datavolume.ts";
import { importerPodName, UPLOAD_PORT } from "../crds/contract/datavolume.ts";
import { DATAVOLUME_PLURAL } from "../crds/api/datavolume.ts";
import { GROUP, VERSION } from "../crds/contract/metadata.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { ClusterClient, FIELD_MANAGER, loadTarget } from "./cluster/kube.ts";
import {
  parseUploadArgs,
  progressLine,
  UPLOAD_USAGE,
  UploadUsageError,
  type UploadArgs,
} from "./upload/args.ts";
import { sendImage } from "./upload/send.ts";

interface DvView {
  spec?: { source?: Record<string, unknown> };
  status?: { phase?: string; conditions?: { type: string; reason: string; message: string }[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the command; returns the exit code. */
export async function imageUploadCommand(argv: string[]): Promise<number> {
  let args: UploadArgs;
  try {
    args = parseUploadArgs(argv);
  } catch (err) {
    if (err instanceof UploadUsageError) {
      console.error(`vireo image-upload: ${err.message}\n\n${UPLOAD_USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args.help) return (console.log(UPLOAD_USAGE), 0);
  try {
    return await upload(args);
  } catch (err) {
    if (err instanceof ClusterCliError) {
      console.error(`vireo image-upload: ${err.message}`);
      return err.code === "USAGE" ? 2 : 1;
    }
    throw err;
  }
}

const enc = encodeURIComponent;
const dvPath = (ns: string) => `/apis/${GROUP}/${VERSION}/namespaces/${enc(ns)}/${DATAVOLUME_PLURAL}`;
const podPath = (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}`;

async function upload(args: UploadArgs): Promise<number> {
  const target = loadTarget(args);
  const ns = target.namespace;
  const client = new ClusterClient(target.kubeConfig);
  const dvUrl = `${dvPath(ns)}/${encodeURIComponent(args.name)}`;
  const deadline = Date.now() + args.timeoutSeconds * 1000;
  let dv = await client.getIfExists<DvView>(`get DataVolume ${args.name}`, dvUrl);
  if (!dv) {
    if (!args.size)
      throw new ClusterCliError(
        "USAGE",
        `DataVolume ${args.name} not found in ${ns}; pass --size to create it`,
      );
    dv = await client.request<DvView>(`create DataVolume ${args.name}`, "POST", dvPath(ns), {
      query: { fieldManager: FIELD_MANAGER },
      body: {
        apiVersion: DATAVOLUME_API_VERSION,
        kind: DATAVOLUME_KIND,
        metadata: { name: args.name, namespace: ns },
        spec: {
          source: { upload: {} },
          storage: {
            size: args.size,
            volumeMode: args.volumeMode,
            ...(args.storageClass ? { storageClassName: args.storageClass } : {}),
          },
        },
      },
    });
    console.error(`created DataVolume ${args.name} (${args.size}, source upload)`);
  }
  if (!dv.spec?.source?.upload)
    throw new ClusterCliError("USAGE", `DataVolume ${args.name} does not have source upload`);
  if (dv.status?.phase === "Succeeded")
    throw new ClusterCliError("USAGE", `DataVolume ${args.name} has Succeeded already; its disk is written`);
  const podName = importerPodName(args.name);
  console.error(`waiting for upload pod ${podName}…`);
  await waitForPod(client, ns, podName, deadline);
  const answer = await throughPortForward(target.kubeConfig, ns, podName, (port) =>
    sendImage("127.0.0.1", port, args.imagePath, progressReporter()),
  );
  process.stderr.write("\n");
  let result: { result?: string; reason?: string; message?: string } = {};
  try {
    result = JSON.parse(answer.body) as typeof result;
  } catch {
    result = { message: answer.body.trim() };
  }
  if (answer.status !== 200) {
    console.error(
      `vireo image-upload: the importer refused the upload (${result.reason ?? `HTTP ${answer.status}`}): ${result.message ?? ""}`,
    );
    return 1;
  }
  console.error(`uploaded: ${result.message ?? "done"}`);
  if (!args.wait) return 0;
  for (;;) {
    const now = await client.getIfExists<DvView>(`get DataVolume ${args.name}`, dvUrl);
    if (now?.status?.phase === "Succeeded") return (console.error(`DataVolume ${args.name} Succeeded`), 0);
    if (now?.status?.phase === "Failed") {
      const r = now.status.conditions?.find((c) => c.type === "Ready");
      console.error(`vireo image-upload: DataVolume ${args.name} Failed: ${r?.reason}: ${r?.message}`);
      return 1;
    }
    if (Date.now() > deadline)
      throw new ClusterCliError("WAIT_TIMEOUT", `DataVolume ${args.name} not Succeeded in time`);
    await sleep(1000);
  }
}

async function waitForPod(client: ClusterClient, ns: string, name: string, deadline: number): Promise<V1Pod> {
  for (;;) {
    const pod = await client.getIfExists<V1Pod>(`get pod ${name}`, podPath(ns, name));
    if (pod?.status?.phase === "Running") return pod;
    if (pod?.status?.phase === "Succeeded" || pod?.status?.phase === "Failed")
      throw new ClusterCliError("LAUNCHER_FAILED", `upload pod ${name} has ended (${pod.status.phase})`);
    if (Date.now() > deadline)
      throw new ClusterCliError("WAIT_TIMEOUT", `upload pod ${name} is not Running in time`);
    await sleep(1000);
  }
}

/** Progress on stderr: one rewritten line on a terminal, a line per 10 % otherwise. */
function progressReporter(): (sent: number, total: number) => void {
  const started = Date.now();
  let lastDecile = -1;
  let lastDraw = 0;
  return (sent, total) => {
    const line = progressLine(sent, total, (Date.now() - started) / 1000);
    if (process.stderr.isTTY) {
      if (Date.now() - lastDraw < 100 && sent < total) return;
      lastDraw = Date.now();
      process.stderr.write(`\r${line}`);
    } else {
      const decile = Math.floor((10 * sent) / Math.max(1, total));
      if (decile !== lastDecile) process.stderr.write(`${line}\n`);
      lastDecile = decile;
    }
  };
}

/** Runs `use` against a local port whose connections are port-forwarded to the pod's upload port. */
async function throughPortForward<T>(
  kc: KubeConfig,
  ns: string,
  pod: string,
  use: (port: number) => Promise<T>,
): Promise<T> {
  const sockets = new Set<Socket>();
  let failure: string | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    new PortForward(kc)
      .portForward(ns, pod, [UPLOAD_PORT], socket, null, socket)
      .then((ws) => {
        if (typeof ws === "function") return;
        ws.on("close", () => socket.end());
        socket.once("close", () => ws.close());
      })
      .catch((err: unknown) => {
        const msg = (err as Error)?.message ?? String(err);
        failure = /\b403\b/.test(msg)
          ? `port-forward to ${pod} is forbidden: needs "create" on pods/portforward`
          : msg;
        socket.destroy();
      });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    return await use((server.address() as { port: number }).port);
  } catch (err) {
    throw new ClusterCliError(
      "API",
      `upload interrupted (${failure ?? (err as Error).message}); run the same command again: it restarts from the first byte`,
      { cause: err },
    );
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
