// `vireo create vm`, `vireo expose vm` and `vireo soft-reboot` (bin/vireo.js) against a real kube-apiserver.
// create vm: its output goes straight into a server-side dry-run create; the CRD (schema + CEL) is the judge.
// expose vm: the Service exists with the right ports, and its selector picks exactly the launcher pod the
// operator's own builder makes for that VM (no kube-proxy here, so the object is what is checked).
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseVirtualMachine } from "../../crds/api/validate.ts";
import { buildLauncherPod } from "../../operator/pod/build.ts";
import { createTestNamespace, type TestNamespace } from "../harness/index.ts";
import { useControlPlane } from "../harness/vitest.ts";
import { installCrd, repoRoot } from "./operator-kit.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vireo(args: string[]): Promise<Run> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin/vireo.js"), ...args], {
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

const vmYaml = (name: string, namespace: string) =>
  `apiVersion: vireo.dev/v1alpha1\nkind: VirtualMachine\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec: { runStrategy: Halted, memory: { guest: 128Mi } }\n`;

function launcherPod(name: string, namespace: string) {
  const vm = parseVirtualMachine({
    apiVersion: "vireo.dev/v1alpha1",
    kind: "VirtualMachine",
    metadata: { name, namespace, uid: `00000000-0000-4000-8000-0000000000${name === "web" ? "aa" : "bb"}` },
    spec: { memory: { guest: "128Mi" } },
  });
  return buildLauncherPod(vm, {
    launcherImage: "localhost/vireo-launcher:test",
    imagePullPolicy: "IfNotPresent",
    emulation: true,
    defaultBinding: "bridge",
  });
}

describe("vireo create vm / expose vm / soft-reboot", () => {
  const cp = useControlPlane();
  let ns: TestNamespace;
  let core: CoreV1Api;
  let kc: string;
  let scratch: string;

  beforeAll(async () => {
    await installCrd(cp());
    core = cp().kubeConfig.makeApiClient(CoreV1Api);
    kc = cp().kubeconfigPath;
    ns = await createTestNamespace(cp().kubeConfig, "vireo-cli-create");
    scratch = await mkdtemp(join(tmpdir(), "vireo-cli-create-"));
  });

  afterAll(async () => {
    if (ns) {
      await cp().kubectl(
        ["delete", "virtualmachines,pods,services", "--all", "-n", ns.name, "--wait=false"],
        {
          check: false,
        },
      );
      await ns.delete();
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("create vm prints a manifest the API server accepts (server-side dry run)", async () => {
    const userData = join(scratch, "user-data");
    await writeFile(userData, "#cloud-config\npackages: [nginx]\n");
    const run = await vireo([
      "create",
      "vm",
      "web",
      "--memory",
      "1Gi",
      "--cpu",
      "2",
      "--run-strategy",
      "Halted",
      "--volume-containerdisk",
      "src:quay.io/containerdisks/debian:12,bootorder:1",
      "--volume-pvc",
      "src:web-data,name:data",
      "--volume-blank",
      "size:1Gi",
      "--user-data-file",
      userData,
      "--ssh-key",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const dry = await cp().kubectl(["create", "--dry-run=server", "-n", ns.name, "-o", "yaml", "-f", "-"], {
      input: run.stdout,
    });
    const stored = parse(dry.stdout) as {
      spec: Record<string, unknown> & {
        volumes: Array<{ name: string; cloudInitNoCloud?: { userData: string } }>;
      };
    };
    expect(stored.spec["runStrategy"]).toBe("Halted");
    expect(stored.spec["cpu"]).toMatchObject({ cores: 2 });
    expect(stored.spec.volumes.map((v) => v.name)).toEqual([
      "containerdisk-0",
      "data",
      "blank-0",
      "cloudinit",
    ]);
    expect(parse(stored.spec.volumes[3]!.cloudInitNoCloud!.userData)).toEqual({
      packages: ["nginx"],
      ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host"],
    });
    // The minimal form too.
    const min = await vireo(["create", "vm", "tiny"]);
    expect(min.code).toBe(0);
    await cp().kubectl(["create", "--dry-run=server", "-n", ns.name, "-f", "-"], { input: min.stdout });
    // Nothing was stored.
    const list = await cp().kubectl(["get", "virtualmachines", "-n", ns.name, "-o", "name"]);
    expect(list.stdout.trim()).toBe("");
  });

  it("create vm refuses a bad flag by name, before printing anything", async () => {
    const run = await vireo(["create", "vm", "web", "--volume-blank", "size:1k"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim()).toBe(
      "vireo create vm: --volume-blank size:1k: spec.volumes[0].emptyDisk.capacity: emptyDisk capacity must be between 1048576 and 70368744177664 bytes, got 1k",
    );
    const it = await vireo(["create", "vm", "web", "--instancetype", "u1.small"]);
    expect(it.code).toBe(2);
    expect(it.stderr).toMatch(/--instancetype: Vireo's API has no instancetype yet/);
  });

  it("expose vm creates a Service whose selector picks the VM's launcher pod and no other", async () => {
    await cp().kubectl(["apply", "-f", "-"], { input: vmYaml("web", ns.name) });
    for (const vm of ["web", "web2"])
      await core.createNamespacedPod({ namespace: ns.name, body: launcherPod(vm, ns.name) });
    const run = await vireo([
      "expose",
      "vm",
      "web",
      "--port",
      "80",
      "--target-port",
      "8080",
      "--name",
      "web-http",
      "--type",
      "NodePort",
      "-n",
      ns.name,
      "--kubeconfig",
      kc,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("service/web-http created: NodePort port 80 → VM web port 8080/TCP");
    const svc = await core.readNamespacedService({ namespace: ns.name, name: "web-http" });
    expect(svc.spec?.type).toBe("NodePort");
    expect(
      svc.spec?.ports?.map((p) => ({ port: p.port, targetPort: p.targetPort, protocol: p.protocol })),
    ).toEqual([{ port: 80, targetPort: 8080, protocol: "TCP" }]);
    expect(svc.spec?.ports?.[0]?.nodePort).toBeGreaterThan(0);
    expect(svc.metadata?.managedFields?.map((f) => f.manager)).toContain("vireo-cli");
    const selector = Object.entries(svc.spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const picked = await core.listNamespacedPod({ namespace: ns.name, labelSelector: selector });
    expect(picked.items.map((p) => p.metadata?.name)).toEqual(["vireo-launcher-web"]);
  });

  it("expose vm says what is wrong: no VM, a taken name, a missing port", async () => {
    const none = await vireo(["expose", "vm", "nope", "--port", "22", "-n", ns.name, "--kubeconfig", kc]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe(
      `vireo expose vm: no VirtualMachine nope in namespace ${ns.name}; list with kubectl get virtualmachines -n ${ns.name}`,
    );
    const taken = await vireo([
      "expose",
      "vm",
      "web",
      "--port",
      "22",
      "--name",
      "web-http",
      "-n",
      ns.name,
      "--kubeconfig",
      kc,
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(
      /a Service web-http already exists in namespace .*; pick another with --name/,
    );
    const noPort = await vireo(["expose", "vm", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr.trim()).toBe("vireo expose vm: --port: is required: the Service's port");
  });

  it("soft-reboot of a VM without a running launcher pod refuses, says why, and changes nothing", async () => {
    const before = await cp().kubectl([
      "get",
      "virtualmachine",
      "web",
      "-n",
      ns.name,
      "-o",
      "jsonpath={.metadata.resourceVersion}",
    ]);
    const run = await vireo(["soft-reboot", "web", "-n", ns.name, "--kubeconfig", kc]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^vireo soft-reboot: VM web is \S+ and has no launcher pod yet|start it with vireo start web/,
    );
    const after = await cp().kubectl([
      "get",
      "virtualmachine",
      "web",
      "-n",
      ns.name,
      "-o",
      "jsonpath={.metadata.resourceVersion}",
    ]);
    expect(after.stdout).toBe(before.stdout);
  });
});
