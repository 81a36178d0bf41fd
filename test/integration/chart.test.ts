// The Helm chart offline: `helm lint`, `helm template` golden files for the default and non-default values,
// the values schema refusing bad values with messages that name the key, and the monitoring files wired in
// only when present. Goldens render a copy of the chart without files/ (alerts and dashboard belong to the
// observability work and change on their own schedule); a separate test renders them.
// UPDATE_GOLDEN=1 rewrites the golden files; review the diff like any other change.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { OPERATOR_RULES } from "../../operator/rbac.ts";
import { helm } from "../harness/index.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const chartDir = join(repoRoot, "charts/vireo");
const goldenDir = join(repoRoot, "test/golden/chart");
const customValues = join(goldenDir, "custom-values.yaml");
const update = process.env.UPDATE_GOLDEN === "1";

type Manifest = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
};

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** A `helm test` hook (templates/tests/): rendered by helm template, created only by helm test. */
const isHook = (m: Manifest) =>
  (m.metadata as { annotations?: Record<string, string> }).annotations?.["helm.sh/hook"] !== undefined;

function find(list: Manifest[], kind: string, name?: string): Manifest {
  const m = list.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!m)
    throw new Error(
      `no ${kind}${name ? ` ${name}` : ""} in: ${list.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`,
    );
  return m;
}

/** The error text of a helm run expected to fail. */
async function helmError(args: string[]): Promise<string> {
  const res = await helm(args, undefined, { check: false });
  expect(res.exitCode, `helm ${args.join(" ")} should fail`).not.toBe(0);
  return res.stderr;
}

function compareGolden(name: string, actual: string): void {
  const path = join(goldenDir, name);
  if (update || !existsSync(path)) {
    writeFileSync(path, actual);
    if (!update) throw new Error(`wrote missing golden file ${path}; review and commit it`);
    return;
  }
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("charts/vireo", () => {
  let scratch: string;
  let bareChart: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "vireo-chart-"));
    bareChart = join(scratch, "vireo");
    await cp(chartDir, bareChart, { recursive: true });
    await rm(join(bareChart, "files"), { recursive: true, force: true });
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it("passes helm lint --strict with default and non-default values", async () => {
    const plain = await helm(["lint", "--strict", chartDir]);
    expect(plain.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    const custom = await helm(["lint", "--strict", chartDir, "-f", customValues]);
    expect(custom.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  it("renders the default values as in the golden file", async () => {
    const out = await helm(["template", "vireo", bareChart, "--namespace", "vireo-system"]);
    compareGolden("default.yaml", out.stdout);
    const list = manifests(out.stdout);
    const deploy = find(list, "Deployment") as unknown as {
      spec: {
        replicas: number;
        template: {
          spec: { securityContext: Record<string, unknown>; containers: Array<Record<string, unknown>> };
        };
      };
    };
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(deploy.spec.template.spec.containers[0]?.["securityContext"]).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    // `helm test` hooks (templates/tests/) render too; chart-ci.test.ts checks those.
    expect(
      list
        .filter((m) => !isHook(m))
        .map((m) => m.kind)
        .sort(),
    ).toEqual(
      [
        "ClusterRole",
        "ClusterRoleBinding",
        "DaemonSet",
        "Deployment",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "ServiceAccount",
      ].sort(),
    );
    for (const m of list) {
      expect(m.metadata.labels, `${m.kind}/${m.metadata.name}`).toMatchObject({
        "app.kubernetes.io/name": "vireo",
        "app.kubernetes.io/instance": "vireo",
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": "vireo-0.1.0",
      });
    }
  });

  it("renders non-default values as in the golden file", async () => {
    const out = await helm(["template", "prod", bareChart, "--namespace", "vireo", "-f", customValues]);
    compareGolden("custom.yaml", out.stdout);
    const list = manifests(out.stdout);
    // Watching named namespaces: the ClusterRole is bound only there.
    expect(list.filter((m) => m.kind === "ClusterRoleBinding" && !isHook(m))).toEqual([]);
    expect(
      list
        .filter((m) => m.kind === "RoleBinding" && m.metadata.name === "prod-vm-operator")
        .map((m) => m.metadata.namespace),
    ).toEqual(["team-a", "team-b"]);
    expect(find(list, "ServiceMonitor")).toBeDefined();
    expect(find(list, "PodMonitor")).toBeDefined();
    expect(list.filter((m) => m.kind === "NetworkPolicy" && !isHook(m))).toHaveLength(2);
    const text = out.stdout;
    expect(text).toContain('image: "registry.example.com/vireo/operator:1.2.3"');
    expect(text).toContain(
      'value: "registry.example.com/vireo/launcher@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"',
    );
    expect(text).toContain('image: "registry.example.com/vireo/device-plugin:1.2.3-dp"');
  });

  it("grants the operator exactly the rules of operator/rbac.ts (ClusterRole plus the Lease Role)", async () => {
    type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] };
    const triplets = (rules: Rule[]) =>
      [
        ...new Set(
          rules.flatMap((r) =>
            (r.apiGroups ?? []).flatMap((g) =>
              (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)),
            ),
          ),
        ),
      ].sort();
    const list = manifests(
      (await helm(["template", "vireo", bareChart, "--namespace", "vireo-system"])).stdout,
    );
    const clusterRole = find(list, "ClusterRole") as unknown as { rules: Rule[] };
    const leaseRole = find(list, "Role") as unknown as { rules: Rule[] };
    expect(triplets([...clusterRole.rules, ...leaseRole.rules])).toEqual(triplets(OPERATOR_RULES as Rule[]));
    // The chart narrows the Lease further than the data says: only its own Lease may be read or written.
    expect(leaseRole.rules.filter((r) => r.verbs.some((v) => v !== "create"))).toEqual([
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["vireo-operator"],
        verbs: ["get", "update"],
      },
    ]);
  });

  it("installs the generated CRD unchanged", () => {
    const generated = readFileSync(join(repoRoot, "crds/vireo.dev_virtualmachines.yaml"), "utf8");
    expect(readFileSync(join(chartDir, "crds/vireo.dev_virtualmachines.yaml"), "utf8")).toBe(generated);
  });

  it.each([
    [
      ["--set", "defaultBinding=tap"],
      "at '/defaultBinding': value must be one of 'bridge', 'masquerade', 'passt'",
    ],
    [["--set", "operator.replicas=-1"], "at '/operator/replicas': minimum: got -1, want 1"],
    [["--set-string", "operator.replicas=two"], "at '/operator/replicas': got string, want integer"],
    [["--set", "emulation=yes"], "at '/emulation': got string, want boolean"],
    [["--set", "operator.replica=3"], "at '/operator': additional properties 'replica' not allowed"],
    [["--set", "logLevel=verbose"], "at '/logLevel': value must be one of"],
    [
      ["--set", "devicePlugin.devices={kvm,gpu}"],
      "at '/devicePlugin/devices/1': value must be one of 'kvm', 'tun', 'vhost-net'",
    ],
    [["--set", "devicePlugin.slots=0"], "at '/devicePlugin/slots': minimum: got 0, want 1"],
    [
      ["--set", "images.launcher.digest=sha256:abc"],
      "at '/images/launcher/digest': 'sha256:abc' does not match pattern",
    ],
    [["--set", "images.operator.repository="], "at '/images/operator/repository': minLength: got 0, want 1"],
    [["--set", "monitoring.serviceMonitor.interval=30 seconds"], "at '/monitoring/serviceMonitor/interval'"],
    [["--set", "operator.watchNamespaces={Team_A}"], "at '/operator/watchNamespaces/0'"],
  ])("refuses %j: %s", async (args, message) => {
    const err = await helmError(["template", "vireo", chartDir, ...args]);
    expect(err).toContain("values don't meet the specifications of the schema");
    expect(err).toContain(message);
  });

  it.each([
    [
      ["--set", "operator.leaderElection.enabled=false"],
      "operator.replicas > 1 needs operator.leaderElection.enabled",
    ],
    [
      ["--set", "operator.leaderElection.renewDeadlineSeconds=15"],
      "operator.leaderElection.renewDeadlineSeconds must be less than leaseDurationSeconds",
    ],
    [
      ["--set", "operator.leaderElection.retryPeriodSeconds=10"],
      "operator.leaderElection.retryPeriodSeconds must be less than renewDeadlineSeconds",
    ],
    [
      ["--set", "monitoring.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false"],
      "monitoring.serviceMonitor.enabled needs metrics.service.enabled",
    ],
  ])("refuses inconsistent values %j", async (args, message) => {
    expect(await helmError(["template", "vireo", chartDir, ...args])).toContain(message);
  });

  it("accepts a single replica without leader election", async () => {
    const out = await helm([
      "template",
      "vireo",
      bareChart,
      "--set",
      "operator.replicas=1",
      "--set",
      "operator.leaderElection.enabled=false",
    ]);
    const list = manifests(out.stdout);
    expect(list.filter((m) => m.kind === "Role" && !isHook(m))).toEqual([]);
    expect(out.stdout).toMatch(/name: VIREO_LEADER_ELECT\n\s+value: "false"/);
  });

  it("renders the PrometheusRule and the Grafana dashboard from files/ only when they exist and are enabled", async () => {
    const monitoring = [
      "--set",
      "monitoring.prometheusRule.enabled=true",
      "--set",
      "monitoring.dashboard.enabled=true",
    ];
    const without = manifests((await helm(["template", "vireo", bareChart, ...monitoring])).stdout);
    expect(without.filter((m) => m.kind === "PrometheusRule" || m.kind === "ConfigMap")).toEqual([]);

    const withFiles = join(scratch, "with-files");
    await cp(bareChart, withFiles, { recursive: true });
    await mkdir(join(withFiles, "files"));
    await writeFile(
      join(withFiles, "files/alerts.yaml"),
      "groups:\n  - name: vireo.test\n    rules:\n      - alert: VireoTest\n        expr: vector(1)\n        labels: { severity: info }\n",
    );
    await writeFile(join(withFiles, "files/dashboard.json"), '{"title": "Vireo test", "panels": []}\n');
    const off = manifests((await helm(["template", "vireo", withFiles])).stdout);
    expect(off.filter((m) => m.kind === "PrometheusRule" || m.kind === "ConfigMap")).toEqual([]);
    const on = manifests(
      (
        await helm([
          "template",
          "vireo",
          withFiles,
          ...monitoring,
          "--set",
          "monitoring.dashboard.namespace=grafana",
        ])
      ).stdout,
    );
    const rule = find(on, "PrometheusRule") as unknown as {
      spec: { groups: Array<{ name: string; rules: Array<{ alert: string }> }> };
    };
    expect(rule.spec.groups[0]?.rules[0]?.alert).toBe("VireoTest");
    const cm = find(on, "ConfigMap") as unknown as {
      metadata: Manifest["metadata"];
      data: Record<string, string>;
    };
    expect(cm.metadata.labels?.["grafana_dashboard"]).toBe("1");
    expect(cm.metadata.namespace).toBe("grafana");
    expect(JSON.parse(cm.data["vireo.json"] ?? "")).toEqual({ title: "Vireo test", panels: [] });
  });

  it("renders the real files/ (when the observability work has added them) into valid objects", async () => {
    const args = [
      "template",
      "vireo",
      chartDir,
      "--set",
      "monitoring.prometheusRule.enabled=true",
      "--set",
      "monitoring.dashboard.enabled=true",
    ];
    const list = manifests((await helm(args)).stdout);
    const hasAlerts = existsSync(join(chartDir, "files/alerts.yaml"));
    const hasDashboard = existsSync(join(chartDir, "files/dashboard.json"));
    expect(list.some((m) => m.kind === "PrometheusRule")).toBe(hasAlerts);
    expect(list.some((m) => m.kind === "ConfigMap")).toBe(hasDashboard);
    if (hasAlerts) {
      const rule = find(list, "PrometheusRule") as unknown as {
        spec: { groups: Array<{ rules: unknown[] }> };
      };
      expect(rule.spec.groups.length).toBeGreaterThan(0);
    }
    if (hasDashboard) {
      const cm = find(list, "ConfigMap") as unknown as { data: Record<string, string> };
      expect(() => JSON.parse(cm.data["vireo.json"] ?? "")).not.toThrow();
    }
  });

  it("reports a broken alerts file instead of rendering garbage", async () => {
    const broken = join(scratch, "broken");
    await cp(bareChart, broken, { recursive: true });
    await mkdir(join(broken, "files"));
    await writeFile(join(broken, "files/alerts.yaml"), "groups: [unclosed\n");
    const err = await helmError([
      "template",
      "vireo",
      broken,
      "--set",
      "monitoring.prometheusRule.enabled=true",
    ]);
    expect(err).toContain("files/alerts.yaml is not valid YAML");
  });
});
