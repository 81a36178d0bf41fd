import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isoProblems, xorrisofs } from "./iso.ts";

// The real xorrisofs (scripts/install-deps.sh installs xorriso); the guest-side check of the same ISOs is
// test/integration/storage-cloud-init.test.ts.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "vireo-iso-"));
  dirs.push(d);
  return d;
}

/** The primary volume descriptor's volume id (sector 16, bytes 40..71, space-padded). */
function volumeId(iso: string): string {
  return readFileSync(iso)
    .subarray(16 * 2048 + 40, 16 * 2048 + 72)
    .toString("latin1")
    .trimEnd();
}

/** Rock Ridge mode, owner, group, size and path of every file, as xorriso reads them back. */
function rockRidgeListing(iso: string): string[] {
  const out = execFileSync("xorriso", ["-indev", iso, "-find", "/", "-exec", "lsdl"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return out
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/))
    .map((f) => `${f[0]} ${f[2]}:${f[3]} ${f[0]!.startsWith("d") ? "-" : f[4]} ${f.slice(8).join(" ")}`);
}

describe("xorrisofs", () => {
  it("labels the volume and gives every file owner 0 and a read-only mode, whatever the staging files had", async () => {
    const dir = tempDir();
    const src = join(dir, "src");
    mkdirSync(join(src, "sub"), { recursive: true, mode: 0o700 });
    writeFileSync(join(src, "meta-data"), "instance-id: x\n", { mode: 0o600 });
    writeFileSync(join(src, "user-data"), "#cloud-config\n# ünïcödé", { mode: 0o600 });
    writeFileSync(join(src, "sub", "a-key-name-longer-than-eight-dot-three.conf"), "k=v\n", { mode: 0o600 });
    chmodSync(src, 0o700);
    if (process.getuid?.() === 0) execFileSync("chown", ["-R", "1234:5678", src]);
    const iso = join(dir, "out.iso");

    await xorrisofs().build(iso, src, "cidata");

    expect(volumeId(iso)).toBe("cidata");
    expect(rockRidgeListing(iso)).toEqual([
      "dr-xr-xr-x 0:0 - '/'",
      "-r--r--r-- 0:0 15 '/meta-data'",
      "dr-xr-xr-x 0:0 - '/sub'",
      "-r--r--r-- 0:0 4 '/sub/a-key-name-longer-than-eight-dot-three.conf'",
      `-r--r--r-- 0:0 ${Buffer.byteLength("#cloud-config\n# ünïcödé")} '/user-data'`,
    ]);
    // Joliet is there too (Windows guests read names from it).
    expect(readFileSync(iso).includes(Buffer.from("a-key-name-longer", "utf16le").swap16())).toBe(true);
  });

  it("reports xorriso's reason, not its banner, when it fails", async () => {
    const dir = tempDir();
    await expect(xorrisofs().build(join(dir, "no/such/dir/out.iso"), dir, "cfgdata")).rejects.toThrow(
      /^xorrisofs failed \(exit 5\): libburn : SORRY : Neither stdio-path nor its directory exist; xorriso : FAILURE : Cannot acquire drive/,
    );
  });

  it("keeps only the lines that explain a failure", () => {
    const stderr = [
      "xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.",
      "",
      "xorriso : NOTE : Local character set is now assumed as: 'utf-8'",
      "xorriso : FAILURE : Cannot determine attributes of source file '/x' : No such file or directory",
    ].join("\n");
    expect(isoProblems(stderr)).toBe(
      "xorriso : FAILURE : Cannot determine attributes of source file '/x' : No such file or directory",
    );
    expect(isoProblems("something else\n")).toBe("something else");
  });
});
