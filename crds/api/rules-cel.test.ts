// The two halves of each cross-field rule agree: every entry's CEL, run by a CEL interpreter (@bufbuild/cel)
// on what the API server would see (the spec with defaults applied), passes exactly where its TypeScript check
// reports nothing — over the validation table (each case breaks one rule), the examples and the base manifest.
// Rules that need Kubernetes' own CEL libraries (quantity) are judged by the real API server instead, in
// test/integration/admission-parity.test.ts, on the same table.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildVirtualMachineCrd } from "../gen/crd.ts";
import type { Rule } from "./rule.ts";
import { RULE_SCOPES, type RuleSpec } from "./spec-rules.ts";
import { vmSpecShape } from "./spec.ts";
import { base, invalidVms, withSpec } from "./testing/invalid-vms.ts";
import { validateVirtualMachine } from "./validate.ts";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A JSON value as CEL sees a Kubernetes object: maps, lists, int for whole numbers; absent keys dropped. */
function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === "object")
    return new Map(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, toCel(x)]),
    );
  return typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v;
}

const root = join(import.meta.dirname, "..", "..");
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(root, "examples", f), "utf8"))
      .map((d) => d.toJS() as Json)
      .filter((d) => d?.kind === "VirtualMachine")
      .map((d): [string, unknown] => [`examples/${f}: ${d.metadata?.name}`, d]),
  );

/** Valid manifests that exercise rules the base manifest and the examples leave aside. */
const validVariants: [string, unknown][] = [
  [
    "liveness and readiness probes",
    withSpec((s) => {
      s.livenessProbe = { tcpSocket: { port: 22 } };
      s.readinessProbe = { httpGet: { port: 80 } };
    }),
  ],
  [
    "masquerade with ports and a Multus bridge",
    withSpec((s) => {
      s.interfaces = [
        { name: "default", binding: "masquerade", ports: [{ port: 22 }], bootOrder: 2 },
        { name: "storage", binding: "bridge" },
      ];
      s.networks = [
        { name: "default", pod: {} },
        { name: "storage", multus: { networkName: "ns/storage" } },
      ];
    }),
  ],
  [
    "microvm with kernel boot and hugepages",
    withSpec((s) => {
      s.machine = { type: "microvm" };
      s.firmware = { kernelBoot: { image: "k", kernelPath: "/vmlinuz" } };
      s.memory = { guest: "2Gi", hugepages: { pageSize: "1Gi" } };
    }),
  ],
  [
    "cloud-init from Secrets as a read-only SATA CD-ROM",
    withSpec((s) => {
      s.disks.push({ name: "ci", bus: "sata", readOnly: true } as never);
      s.volumes.push({
        name: "ci",
        cloudInitNoCloud: { userDataSecretRef: { name: "u" }, networkDataSecretRef: { name: "n" } },
      } as never);
    }),
  ],
];

/** Every manifest of the corpus whose spec passes its field rules, as the spec the rules see. */
const corpus: [string, RuleSpec][] = [
  ["base", base() as unknown],
  ...examples,
  ...validVariants,
  ...invalidVms.map(([name, make]): [string, unknown] => [name, make()]),
].flatMap(([name, manifest]) => {
  const spec = (manifest as { spec?: unknown } | undefined)?.spec;
  const r = vmSpecShape.safeParse(spec);
  return r.success ? [[name, r.data as RuleSpec] as [string, RuleSpec]] : [];
});

/** Needs a CEL library only the API server has. */
const needsKubernetesLibrary = (rule: Rule<never>) => rule.cel.some((c) => /\bquantity\(/.test(c.rule));

interface Tally {
  pass: number;
  fail: number;
}

describe("each cross-field rule: its CEL and its check agree", () => {
  const entries = RULE_SCOPES.flatMap((scope) => scope.rules.map((rule) => ({ scope, rule })));

  it("the corpus has the table's cases that pass the field rules, and the examples", () => {
    expect(examples.length).toBeGreaterThan(0);
    expect(corpus.length).toBeGreaterThan(40);
  });

  it.each(validVariants)("the valid variant %s is valid", (_name, manifest) => {
    const r = validateVirtualMachine(manifest);
    expect(r.ok && r.vm.spec, r.ok ? "" : JSON.stringify(r.problems)).toBeTruthy();
  });

  it("rule ids are unique", () => {
    const ids = [...new Set(entries.map((e) => e.rule))].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(entries.map((e) => [`${e.scope.at}: ${e.rule.id}`, e] as const))("%s", (_name, { scope, rule }) => {
    if (rule.cel.length === 0) {
      expect(rule.server, "a rule without CEL says how the API server enforces it").toBeTruthy();
      return;
    }
    if (needsKubernetesLibrary(rule)) return; // judged by the API server: admission-parity.test.ts
    const tally: Tally = { pass: 0, fail: 0 };
    for (const [name, spec] of corpus) {
      for (const [at, self] of scope.objects(spec)) {
        const reports: string[] = [];
        (rule as Rule<unknown>).check(self, (path, message) => reports.push(`${path.join(".")}: ${message}`));
        const verdicts = rule.cel.map((c) => run(c.rule, { self: toCel(self) } as never));
        for (const v of verdicts)
          expect(typeof v, `${name}: CEL evaluates to a bool (${String(v)})`).toBe("boolean");
        const celOk = verdicts.every((v) => v === true);
        expect(celOk, `${name} at spec.${at.join(".")}: check says ${JSON.stringify(reports)}`).toBe(
          reports.length === 0,
        );
        tally[celOk ? "pass" : "fail"]++;
      }
    }
    // Both outcomes seen, so the comparison above could have failed either way.
    expect(tally.pass, "cases the rule accepts").toBeGreaterThan(0);
    expect(tally.fail, "cases the rule refuses (add one to crds/api/testing/invalid-vms.ts)").toBeGreaterThan(
      0,
    );
  });

  it("every quantity rule has a case in the table the API server judges", () => {
    const quantityRules = entries.filter((e) => needsKubernetesLibrary(e.rule));
    expect(quantityRules.length).toBeGreaterThan(0);
    for (const { scope, rule } of quantityRules) {
      const refused = corpus.some(([, spec]) =>
        scope.objects(spec).some(([, self]) => {
          let reported = false;
          (rule as Rule<unknown>).check(self, () => (reported = true));
          return reported;
        }),
      );
      expect(refused, rule.id).toBe(true);
    }
  });

  it("each entry's CEL is in the generated CRD on the object its scope names", () => {
    const spec = (buildVirtualMachineCrd() as Json).spec.versions[0].schema.openAPIV3Schema.properties.spec;
    for (const { scope, rule } of entries) {
      const node = scope.at
        .split(".")
        .slice(1)
        .reduce(
          (n: Json, step) =>
            step.endsWith("[*]") ? n.properties[step.slice(0, -3)].items : n.properties[step],
          spec,
        );
      for (const c of rule.cel) expect(node["x-kubernetes-validations"], rule.id).toContainEqual(c);
    }
  });
});
