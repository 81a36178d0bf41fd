import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Nothing in the repository may name a package registry's host (issue 24): code reads mirrors from the
// machine's own apt, npm, Go and pip configuration. This test learns the hosts from that same configuration
// (so it names none itself) and greps every tracked file for them.

const root = join(import.meta.dirname, "..", "..");

function hostOf(uri: string): string | undefined {
  try {
    const h = new URL(uri.trim()).hostname;
    return h && h !== "localhost" && !/^[\d.]+$/.test(h) && h.includes(".") ? h : undefined;
  } catch {
    return undefined;
  }
}

function aptHosts(): string[] {
  const files = ["/etc/apt/sources.list"];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) for (const f of readdirSync(dir)) files.push(join(dir, f));
  const uris: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) continue;
    // Both formats, comments included (a commented snapshot URI names a host too).
    uris.push(...(readFileSync(f, "utf8").match(/[a-z]+:\/\/[^\s"'\]]+/g) ?? []));
  }
  return uris.flatMap((u) => hostOf(u) ?? []);
}

function commandOut(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 15_000 });
  return r.status === 0 ? r.stdout : "";
}

/** Every registry host this machine is configured with. */
function registryHosts(): string[] {
  const found = [
    ...aptHosts(),
    hostOf(commandOut("npm", ["config", "get", "registry"])),
    ...commandOut("go", ["env", "GOPROXY"])
      .split(/[,|]/)
      .map((u) => hostOf(u)),
    ...["/etc/pip.conf", join(process.env.HOME ?? "/", ".config/pip/pip.conf")]
      .filter((f) => existsSync(f))
      .flatMap((f) => (readFileSync(f, "utf8").match(/[a-z]+:\/\/[^\s"']+/g) ?? []).map(hostOf)),
  ];
  return [...new Set(found.filter((h): h is string => h !== undefined))];
}

describe("no package registry host in the repository", () => {
  it("learns at least the apt and npm registries from this machine", () => {
    expect(registryHosts().length).toBeGreaterThanOrEqual(2);
  });

  it("no tracked file names one (package-lock.json too)", () => {
    const hits: string[] = [];
    for (const host of registryHosts()) {
      const r = spawnSync("git", ["grep", "-I", "-l", "-F", "-i", host, "--", "."], {
        cwd: root,
        encoding: "utf8",
      });
      if (r.status === 0)
        hits.push(
          ...r.stdout
            .trim()
            .split("\n")
            .map((f) => `${f}: ${host}`),
        );
    }
    expect(hits).toEqual([]);
  });
});
