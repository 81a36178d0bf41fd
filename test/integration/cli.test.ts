// `vireo start|stop|restart|pause|unpause|console|vnc|status` (bin/vireo.js, also as `kubectl vireo`) against a
// real kube-apiserver: each command changes exactly what it says (and as field manager vireo-cli), errors
// name the VM and namespace and say what to do, and RBAC applies (pods/exec for pause).
// The test plays the operator where a command needs a running VM: it writes VM status and a Running pod.
import { spawn } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import {
  createTestNamespace,
  eventually,
  runBinary,
  type Identity,
  type TestNamespace,
} from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { VmClient } from "../../cli/cluster/kube.ts";
import { recordPauseOutcome } from "../../cli/cluster/pause-mark.ts";
import { ANNOTATION_PAUSED } from "../../crds/contract/index.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const crdPath = join(repoRoot, "crds/vireo.dev_virtualmachines.yaml");
const vmApi = { group: "vireo.dev", version: "v1alpha1", plural: "virtualmachines" } as const;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/vireo.js as a user would, with a deadline. */
function vireo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin/vireo.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", rej);
    child.once("close", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

type Vm = {
  metadata: {
    name: string;
    generation: number;
    resourceVersion: string;
    annotations?: Record<string, string>;
    managedFields?: Array<{ manager: string; fieldsV1?: unknown }>;
  };
  spec: Record<string, unknown> & { runStrategy?: string };
};

function vmManifest(name: string, spec: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name },
    spec: {
      memory: { guest: "256Mi" },
      disks: [{ name: "root" }],
      volumes: [{ name: "root", persistentVolumeClaim: { claimName: `${name}-root` } }],
      ...spec,
    },
  });
}

describe("vireo cluster commands", () => {
  const cp = useControlPlane();
  let ns: TestNamespace;
  let other: TestNamespace;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let kc: string;
  let scratch: string;
  const identities: Identity[] = [];

  const getVm = async (name: string, namespace = ns.name) =>
    (await custom.getNamespacedCustomObject({ ...vmApi, namespace, name })) as Vm;
  const apply = (manifest: string, namespace = ns.name) =>
    cp().kubectl(["apply", "--server-side", "--field-manager=test", "-n", namespace, "-f", "-"], {
      input: manifest,
    });
  /** Plays the operator: writes status through the status subresource. */
  const setStatus = (name: string, status: Record<string, unknown>) =>
    custom.patchNamespacedCustomObjectStatus(
      { ...vmApi, namespace: ns.name, name, body: { status } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  const noVm = (name: string, namespace = ns.name) =>
    `no VirtualMachine ${name} in namespace ${namespace}; list with kubectl get virtualmachines -n ${namespace}`;

  beforeAll(async () => {
    const admin = cp().kubeConfig;
    custom = admin.makeApiClient(CustomObjectsApi);
    core = admin.makeApiClient(CoreV1Api);
    kc = cp().kubeconfigPath;
    scratch = await mkdtemp(join(tmpdir(), "vireo-cli-"));
    await cp().kubectl(["apply", "--server-side", "--force-conflicts", "-f", crdPath]);
    const ext = admin.makeApiClient(ApiextensionsV1Api);
    await eventually(async () => {
      const crd = await ext.readCustomResourceDefinition({ name: "virtualmachines.vireo.dev" });
      if (crd.status?.conditions?.find((c) => c.type === "Established")?.status !== "True")
        throw new Error("not Established");
      await custom.listNamespacedCustomObject({ ...vmApi, namespace: "default" });
    });
    ns = await createTestNamespace(admin, "vireo-cli");
    other = await createTestNamespace(admin, "vireo-cli-other");
  });

  afterAll(async () => {
    for (const id of identities) await id.dispose();
    for (const t of [ns, other]) {
      if (!t) continue;
      await cp().kubectl(
        ["delete", "virtualmachines,pods,roles,rolebindings", "--all", "-n", t.name, "--wait=false"],
        { check: false },
      );
      await t.delete();
    }
    await rm(scratch, { recursive: true, force: true });
  });

  it("stop sets runStrategy Halted, remembers the old one, and changes nothing else", async () => {
    await apply(vmManifest("web", { runStrategy: "RerunOnFailure" }));
    const before = await getVm("web");
    const run = await vireo(["stop", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("VM web stopping (runStrategy RerunOnFailure → Halted)");
    const after = await getVm("web");
    expect(after.spec.runStrategy).toBe("Halted");
    expect({ ...after.spec, runStrategy: undefined }).toEqual({ ...before.spec, runStrategy: undefined });
    expect(after.metadata.annotations).toEqual({ "vireo.dev/runStrategyBeforeStop": "RerunOnFailure" });
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    const cli = after.metadata.managedFields?.find((f) => f.manager === "vireo-cli");
    expect(JSON.stringify(cli?.fieldsV1)).toContain('"f:runStrategy"');
  });

  it("stop on a stopped VM changes nothing", async () => {
    const before = await getVm("web");
    const run = await vireo(["stop", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("VM web is already stopped (runStrategy Halted)");
    expect((await getVm("web")).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("start restores the strategy stop replaced, and drops the note", async () => {
    const run = await vireo(["start", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("VM web starting (runStrategy Halted → RerunOnFailure)");
    const vm = await getVm("web");
    expect(vm.spec.runStrategy).toBe("RerunOnFailure");
    expect(vm.metadata.annotations ?? {}).toEqual({});
  });

  it("start on a VM halted in its manifest sets Always, as KubeVirt does", async () => {
    await apply(vmManifest("cold", { runStrategy: "Halted" }));
    const run = await vireo(["start", "cold", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.code).toBe(0);
    expect((await getVm("cold")).spec.runStrategy).toBe("Always");
    const again = await vireo(["start", "cold", "-n", ns.name, "--kubeconfig", kc]);
    expect(again.stdout.trim()).toBe("VM cold is already started (runStrategy Always)");
  });

  it("start of a Manual VM that has stopped keeps Manual and sends a start request", async () => {
    await apply(vmManifest("manual", { runStrategy: "Manual" }));
    await setStatus("manual", { printableStatus: "Stopped", phase: "Stopped" });
    const run = await vireo(["start", "manual", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.code).toBe(0);
    const vm = await getVm("manual");
    expect(vm.spec.runStrategy).toBe("Manual");
    const at = vm.metadata.annotations?.["vireo.dev/restartedAt"] ?? "";
    expect(Number.isNaN(Date.parse(at))).toBe(false);
    expect(run.stdout.trim()).toBe(
      `VM manual starting (runStrategy Manual kept; start request vireo.dev/restartedAt=${at})`,
    );
  });

  it("restart refuses a stopped VM and says how to start it", async () => {
    await apply(vmManifest("idle", { runStrategy: "Halted" }));
    await setStatus("idle", { printableStatus: "Stopped", phase: "Stopped" });
    const run = await vireo(["restart", "idle", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe("vireo restart: VM idle is Stopped; start it with vireo start idle");
    expect((await getVm("idle")).metadata.annotations?.["vireo.dev/restartedAt"]).toBeUndefined();
  });

  it("restart of a running VM sets vireo.dev/restartedAt to now and leaves the spec alone", async () => {
    await apply(vmManifest("busy"));
    await setStatus("busy", {
      printableStatus: "Running",
      phase: "Running",
      launcherPod: "vireo-launcher-busy",
    });
    const before = await getVm("busy");
    const t0 = Date.now();
    const run = await vireo(["restart", "busy", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const after = await getVm("busy");
    const at = after.metadata.annotations?.["vireo.dev/restartedAt"] ?? "";
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(at)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Date.parse(at)).toBeLessThanOrEqual(Date.now());
    expect(run.stdout.trim()).toBe(`VM busy restarting (vireo.dev/restartedAt=${at})`);
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it("status lists the namespace's VMs and describes one, from the VM's status", async () => {
    const list = await vireo(["status", "-n", ns.name, "--kubeconfig", kc]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+READY\s+RUNSTRATEGY\s+NODE\s+IP\s+AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ["busy", "Running"],
      ["cold", "Unknown"],
      ["idle", "Stopped"],
      ["manual", "Stopped"],
      ["web", "Unknown"],
    ]);
    const one = await vireo(["status", "busy", "-n", ns.name, "--kubeconfig", kc]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^Name:\s+busy$/m);
    expect(one.stdout).toMatch(/^Status:\s+Running$/m);
    expect(one.stdout).toMatch(/^Launcher pod:\s+vireo-launcher-busy$/m);
    const json = JSON.parse(
      (await vireo(["status", "idle", "-o", "json", "-n", ns.name, "--kubeconfig", kc])).stdout,
    ) as Vm & {
      status: { printableStatus: string };
    };
    expect(json.status.printableStatus).toBe("Stopped");
    await apply(vmManifest("far"), other.name);
    const all = await vireo(["status", "-A", "--kubeconfig", kc]);
    expect(all.stdout).toMatch(new RegExp(`^${other.name}\\s+far\\s`, "m"));
    expect(all.stdout).toMatch(new RegExp(`^${ns.name}\\s+busy\\s+Running`, "m"));
    const empty = await vireo(["status", "-n", "default", "--kubeconfig", kc]);
    expect(empty.code).toBe(0);
    expect(empty.stderr.trim()).toBe("No VirtualMachines found in namespace default.");
  });

  it.each(["start", "stop", "restart", "pause", "unpause", "console", "vnc", "status"])(
    "%s of an unknown VM says so and how to list VMs",
    async (command) => {
      const run = await vireo([command, "nope", "-n", ns.name, "--kubeconfig", kc]);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(`vireo ${command}: ${noVm("nope")}`);
    },
  );

  it("pause, console and vnc of a stopped VM say to start it", async () => {
    for (const command of ["pause", "unpause", "console"]) {
      const run = await vireo([command, "idle", "-n", ns.name, "--kubeconfig", kc]);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(`vireo ${command}: VM idle is Stopped; start it with vireo start idle`);
    }
    await apply(vmManifest("screen", { runStrategy: "Halted", devices: { vnc: true } }));
    const vnc = await vireo(["vnc", "screen", "-n", ns.name, "--kubeconfig", kc]);
    expect(vnc.stderr.trim()).toBe("vireo vnc: VM screen is Stopped; start it with vireo start screen");
    const noVnc = await vireo(["vnc", "idle", "-n", ns.name, "--kubeconfig", kc]);
    expect(noVnc.stderr.trim()).toBe(
      "vireo vnc: VM idle has no VNC display; set spec.devices.vnc: true, then vireo restart idle",
    );
  });

  it("takes the namespace from the kubeconfig context, and --context picks a context", async () => {
    const doc = parse(await (await import("node:fs/promises")).readFile(kc, "utf8")) as {
      contexts: Array<{ name: string; context: Record<string, string> }>;
      "current-context": string;
    };
    const base = doc.contexts[0];
    if (!base) throw new Error("the admin kubeconfig has no context");
    doc.contexts = [
      { name: "here", context: { ...base.context, namespace: ns.name } },
      { name: "there", context: { ...base.context, namespace: other.name } },
    ];
    doc["current-context"] = "here";
    const path = join(scratch, "contexts.kubeconfig");
    await writeFile(path, stringify(doc), { mode: 0o600 });
    const here = await vireo(["status"], { KUBECONFIG: path });
    expect(here.stdout).toMatch(/^busy\s/m);
    const there = await vireo(["status", "--context", "there"], { KUBECONFIG: path });
    expect(there.stdout).toMatch(/^far\s/m);
    expect(there.stdout).not.toMatch(/^busy\s/m);
    const wrong = await vireo(["status", "--context", "nowhere"], { KUBECONFIG: path });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      'vireo status: no context "nowhere" in the kubeconfig; contexts: here, there',
    );
  });

  it("works as a kubectl plugin: kubectl vireo ...", async () => {
    const pathDir = join(scratch, "plugins");
    await (await import("node:fs/promises")).mkdir(pathDir);
    await symlink(join(repoRoot, "bin/vireo.js"), join(pathDir, "kubectl-vireo"));
    const env = { PATH: `${pathDir}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`, KUBECONFIG: kc };
    const stop = await runBinary("kubectl", ["vireo", "stop", "busy", "-n", ns.name], { env });
    expect(stop.stdout.trim()).toBe("VM busy stopping (runStrategy Always → Halted)");
    expect((await getVm("busy")).spec.runStrategy).toBe("Halted");
    const plugins = await runBinary("kubectl", ["plugin", "list"], { env, check: false });
    expect(plugins.stdout).toContain("kubectl-vireo");
  });

  it("refuses what RBAC refuses: a read-only user cannot stop, and pause needs pods/exec", async () => {
    const rbac = cp().kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns.name,
      body: {
        metadata: { name: "vm-viewer" },
        rules: [
          { apiGroups: ["vireo.dev"], resources: ["virtualmachines"], verbs: ["get", "list"] },
          { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: "vm-viewer" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "vm-viewer" },
        subjects: [{ kind: "ServiceAccount", name: "viewer", namespace: ns.name }],
      },
    });
    const viewer = await cp().serviceAccountKubeconfig(ns.name, "viewer");
    identities.push(viewer);
    // A Running launcher pod for "web" (the test plays scheduler and kubelet).
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: "vireo-launcher-web", labels: { "vireo.dev/vm": "web" } },
        spec: {
          containers: [{ name: "launcher", image: "localhost/vireo-launcher:test" }],
          nodeName: "node-a",
        },
      },
    });
    await core.patchNamespacedPodStatus(
      { namespace: ns.name, name: "vireo-launcher-web", body: { status: { phase: "Running" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await setStatus("web", {
      printableStatus: "Running",
      phase: "Running",
      launcherPod: "vireo-launcher-web",
    });
    await eventually(async () => {
      const s = await vireo(["status", "web", "-n", ns.name, "--kubeconfig", viewer.kubeconfigPath]);
      expect(s.stdout).toMatch(/^Status:\s+Running$/m);
    });

    const stop = await vireo(["stop", "web", "-n", ns.name, "--kubeconfig", viewer.kubeconfigPath]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain("vireo stop: patch VirtualMachine web: forbidden:");
    expect(stop.stderr).toContain('cannot patch resource "virtualmachines"');
    expect((await getVm("web")).spec.runStrategy).toBe("RerunOnFailure");

    const pause = await vireo(["pause", "web", "-n", ns.name, "--kubeconfig", viewer.kubeconfigPath]);
    expect(pause.code).toBe(1);
    expect(pause.stderr.trim()).toBe(
      `vireo pause: exec into pod vireo-launcher-web in namespace ${ns.name} is forbidden: this command needs "create" on pods/exec there. Ask your cluster admin for that permission.`,
    );
    // The admin may exec; with no kubelet behind node-a the API server can only fail to reach it, which
    // shows the command went through pods/exec.
    const adminPause = await vireo(["pause", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(adminPause.code).toBe(1);
    expect(adminPause.stderr).toContain(
      `vireo pause: exec into pod vireo-launcher-web in namespace ${ns.name} failed:`,
    );
    expect(adminPause.stderr).not.toContain("forbidden");
    expect(adminPause.stderr).toContain(
      `kubectl exec -n ${ns.name} vireo-launcher-web -c launcher -- vireo-launcher pause`,
    );
    // Neither failed pause reported the VM as paused.
    expect((await getVm("web")).metadata.annotations?.[ANNOTATION_PAUSED]).toBeUndefined();
  });

  it("pause/unpause record vireo.dev/paused on the VM only when the launcher exec succeeded", async () => {
    // No kubelet here, so the exec itself cannot succeed; the step after it takes the exec's outcome.
    const client = new VmClient(cp().kubeConfig);
    const annotations = async () => (await getVm("web")).metadata.annotations ?? {};
    const before = await annotations();
    expect(before[ANNOTATION_PAUSED]).toBeUndefined();

    const failed = { ok: false as const, error: new Error("exec failed") };
    expect(await recordPauseOutcome(client, "pause", ns.name, "web", failed, "pod-uid-1")).toBe(false);
    expect(await annotations()).toEqual(before);

    // The mark names the launcher pod that was paused, so it cannot outlive that pod's guest.
    expect(await recordPauseOutcome(client, "pause", ns.name, "web", { ok: true }, "pod-uid-1")).toBe(true);
    const paused = await getVm("web");
    expect(paused.metadata.annotations).toEqual({ ...before, [ANNOTATION_PAUSED]: "pod-uid-1" });
    const cli = paused.metadata.managedFields?.find((f) => f.manager === "vireo-cli");
    expect(JSON.stringify(cli?.fieldsV1)).toContain(`"f:${ANNOTATION_PAUSED}"`);
    // A second pause has nothing to change.
    expect(await recordPauseOutcome(client, "pause", ns.name, "web", { ok: true }, "pod-uid-1")).toBe(false);

    // A failed unpause (here through the real command: pods/exec with no kubelet) keeps the VM paused.
    expect(await recordPauseOutcome(client, "unpause", ns.name, "web", failed)).toBe(false);
    const unpause = await vireo(["unpause", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(unpause.code).toBe(1);
    expect(unpause.stderr).toContain(
      `vireo unpause: exec into pod vireo-launcher-web in namespace ${ns.name} failed:`,
    );
    expect((await annotations())[ANNOTATION_PAUSED]).toBe("pod-uid-1");

    expect(await recordPauseOutcome(client, "unpause", ns.name, "web", { ok: true })).toBe(true);
    expect(await annotations()).toEqual(before);
    expect(await recordPauseOutcome(client, "unpause", ns.name, "web", { ok: true })).toBe(false);
  });

  it("prints usage errors with exit code 2", async () => {
    const run = await vireo(["stop", "--kubeconfig", kc]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("vireo stop: vireo stop needs a VM name");
    expect(run.stderr).toContain("usage: vireo stop VM");
    const help = await vireo(["status", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("-A, --all-namespaces");
  });
});
