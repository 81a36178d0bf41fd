// What ct lint's version-increment check cannot see here (no git remote in CI), and Artifact Hub's
// metadata: both charts carry package.json's version as version and appVersion, and the annotations are
// well-formed YAML naming the same images, CRD and version that the chart installs.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateVirtualMachine } from "../../crds/api/validate.ts";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string; license: string };
const chart = (name: string) =>
  parse(readFileSync(`charts/${name}/Chart.yaml`, "utf8")) as {
    version: string;
    appVersion: string;
    kubeVersion?: string;
    icon?: string;
    annotations: Record<string, string>;
  };

describe("chart metadata", () => {
  it.each(["vireo", "vireo-crds"])("%s: version and appVersion are package.json's", (name) => {
    const c = chart(name);
    expect(c.version).toBe(pkg.version);
    expect(c.appVersion).toBe(pkg.version);
    expect(c.kubeVersion).toBe(">=1.30.0-0");
    expect(c.icon).toMatch(/^https:\/\//);
    expect(c.annotations["artifacthub.io/license"]).toBe(pkg.license);
  });

  it("Artifact Hub annotations parse and name what the chart installs", () => {
    const a = chart("vireo").annotations;
    const values = parse(readFileSync("charts/vireo/values.yaml", "utf8")) as {
      images: Record<string, { repository: string }>;
    };
    const images = parse(a["artifacthub.io/images"]!) as Array<{ name: string; image: string }>;
    expect(images).toEqual([
      { name: "operator", image: `${values.images["operator"]!.repository}:${pkg.version}` },
      { name: "launcher", image: `${values.images["launcher"]!.repository}:${pkg.version}` },
    ]);
    const crds = parse(a["artifacthub.io/crds"]!) as Array<{ name: string; version: string; kind: string }>;
    const crd = parse(readFileSync("charts/vireo/crds/vireo.dev_virtualmachines.yaml", "utf8")) as {
      metadata: { name: string };
      spec: { names: { kind: string }; versions: Array<{ name: string }> };
    };
    expect(crds).toEqual([
      expect.objectContaining({
        name: crd.metadata.name,
        kind: crd.spec.names.kind,
        version: crd.spec.versions[0]!.name,
      }),
    ]);
    const examples = parse(a["artifacthub.io/crdsExamples"]!) as Array<{ kind: string; apiVersion: string }>;
    expect(examples.map((e) => `${e.apiVersion}/${e.kind}`)).toEqual(["vireo.dev/v1alpha1/VirtualMachine"]);
    for (const e of examples) expect(validateVirtualMachine(e).ok).toBe(true);
    for (const key of ["artifacthub.io/links", "artifacthub.io/changes"])
      expect(Array.isArray(parse(a[key]!)), key).toBe(true);
    expect(a["artifacthub.io/operator"]).toBe("true");
  });
});
