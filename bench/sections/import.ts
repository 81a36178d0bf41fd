/**
 * `npm run bench -- import`: the DataVolume importer's throughput from a loopback HTTP server, for a qcow2 and
 * for its xz-compressed copy, against plain `qemu-img convert` (and `xz -dc` first for the xz) of the same
 * file on the same disk; and the importer's peak memory (its node process plus curl, xz and qemu-img, sampled
 * as one tree). The image is the Debian cloud image (scripts/guest-image) when it is built, else a generated
 * 1 GiB qcow2 with 256 MiB of random data.
 */
import { execFileSync, spawn } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { debianImage } from "../../test/guest/debian-image.ts";
import { vireoCacheDir } from "../../test/guest/artifacts.ts";
import { IMPORTER_CONFIG_ENV, type ImporterConfigInput } from "../../crds/importer/config.ts";
import { descendants, statusMemory } from "../lib/proc.ts";
import { fmt, type Row, type SectionResult } from "../lib/report.ts";
import type { BenchContext } from "./context.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const MiB = 2 ** 20;

function sourceImage(ctx: BenchContext, work: string): { path: string; what: string } {
  try {
    const img = debianImage();
    return {
      path: img.disk,
      what: `Debian cloud image (${(statSync(img.disk).size / MiB).toFixed(0)} MiB qcow2)`,
    };
  } catch {
    const raw = join(work, "gen.raw");
    execFileSync("qemu-img", ["create", "-f", "raw", raw, "1G"]);
    execFileSync("sh", ["-c", `head -c ${256 * MiB} /dev/urandom | dd of=${raw} conv=notrunc status=none`]);
    const q = join(work, "gen.qcow2");
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, q]);
    rmSync(raw);
    ctx.log("  Debian image not built: using a generated 1 GiB qcow2 (256 MiB random)");
    return { path: q, what: "generated qcow2 (1 GiB, 256 MiB random)" };
  }
}

/** xz of the image, cached beside the bench's other artifacts (xz -1 of 300 MiB takes minutes here). */
function xzOf(ctx: BenchContext, src: string): string {
  const dir = join(vireoCacheDir(), "bench-import");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${statSync(src).size}-${statSync(src).mtimeMs.toFixed(0)}.qcow2.xz`);
  if (!existsSync(out)) {
    ctx.log(`  compressing ${src} with xz -1 (cached in ${dir})`);
    execFileSync("sh", ["-c", `xz -T0 -1 -c '${src}' > '${out}.tmp' && mv '${out}.tmp' '${out}'`]);
  }
  return out;
}

/** Runs a command as a process tree, returning its wall time and peak summed RSS. */
function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ seconds: number; peakRssBytes: number; code: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr = (stderr + c).slice(-4000)));
    let peak = 0;
    const sample = setInterval(() => {
      const pids = [child.pid!, ...descendants(child.pid!).map((d) => d.pid)];
      // A process that has just exited has no VmRSS line (NaN): count it as 0.
      const rss = pids.reduce((sum, p) => sum + (statusMemory(p)?.rssKiB || 0) * 1024, 0);
      peak = Math.max(peak, rss);
    }, 50);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sample);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - started) / 1000, peakRssBytes: peak, code: code ?? 0 });
    });
  });
}

/** The import section. */
export async function importSection(ctx: BenchContext): Promise<SectionResult> {
  const work = mkdtempSync(join(tmpdir(), "vireo-bench-import-"));
  const server = createServer((req, res) => {
    const file =
      req.url === "/image.qcow2" ? files.qcow2 : req.url === "/image.qcow2.xz" ? files.xz : undefined;
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": statSync(file).size, "content-type": "application/octet-stream" });
    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
  });
  const src = sourceImage(ctx, work);
  const files = { qcow2: src.path, xz: xzOf(ctx, src.path) };
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const info = JSON.parse(
    execFileSync("qemu-img", ["info", "--output=json", src.path], { encoding: "utf8" }),
  ) as { "virtual-size": number };
  const claimBytes = Math.ceil((info["virtual-size"] * 1.1) / MiB) * MiB;
  const rows: Row[] = [];
  const data: Record<string, unknown> = { image: src.what, virtualSizeBytes: info["virtual-size"] };
  try {
    for (const kind of ["qcow2", "xz"] as const) {
      const file = files[kind];
      const bytes = statSync(file).size;
      const runs = ctx.quick ? 1 : 3;
      let best = { importer: Infinity, plain: Infinity, rss: 0 };
      for (let i = 0; i < runs; i++) {
        const claim = join(work, `claim-${kind}-${i}`);
        mkdirSync(claim);
        const cfg: ImporterConfigInput = {
          version: "v1",
          source: {
            kind: "http",
            url: `http://127.0.0.1:${port}/image.${kind === "xz" ? "qcow2.xz" : "qcow2"}`,
          },
          target: { kind: "filesystem", dir: claim, capacityBytes: claimBytes, format: "raw" },
          scratchDir: join(work, `scratch-${kind}-${i}`),
          progressPort: 0,
        };
        const imp = await timed(process.execPath, [join(root, "bin/vireo-importer.js")], {
          ...process.env,
          // The image runs the compiled build; --tsx benches the source through tsx.
          ...(ctx.dist ? { VIREO_USE_DIST: "1" } : {}),
          [IMPORTER_CONFIG_ENV]: JSON.stringify(cfg),
          VIREO_TERMINATION_LOG: join(work, `result-${kind}-${i}`),
        });
        rmSync(claim, { recursive: true, force: true });
        // The plain way on the same disk: (xz -dc to a file, then) qemu-img convert to raw.
        const out = join(work, `plain-${kind}-${i}.raw`);
        const plain =
          kind === "qcow2"
            ? await timed("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", file, out])
            : await timed("sh", [
                "-c",
                `xz -dc '${file}' > '${work}/plain.qcow2' && qemu-img convert -f qcow2 -O raw '${work}/plain.qcow2' '${out}' && rm '${work}/plain.qcow2'`,
              ]);
        rmSync(out, { force: true });
        best = {
          importer: Math.min(best.importer, imp.seconds),
          plain: Math.min(best.plain, plain.seconds),
          rss: Math.max(best.rss, imp.peakRssBytes),
        };
      }
      const mibps = (s: number) => bytes / MiB / s;
      const ratio = best.plain / best.importer;
      data[kind] = {
        fileBytes: bytes,
        importerSeconds: best.importer,
        plainSeconds: best.plain,
        peakRssBytes: best.rss,
        runs,
      };
      rows.push(
        {
          metric: `import ${kind} over loopback http (${(bytes / MiB).toFixed(0)} MiB file)`,
          value: fmt(mibps(best.importer), "MiB/s"),
        },
        {
          metric: `plain ${kind === "xz" ? "xz -dc + " : ""}qemu-img convert, same file`,
          value: fmt(mibps(best.plain), "MiB/s"),
        },
        { metric: `importer ÷ plain (${kind})`, value: ratio.toFixed(2), target: "≥ 0.9", ok: ratio >= 0.9 },
        {
          metric: `importer peak RSS (${kind}; node + curl/xz + qemu-img)`,
          value: fmt(best.rss / MiB, "MiB"),
        },
      );
    }
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
  return {
    section: "import",
    rows,
    notes: [
      `image: ${src.what}; best of ${ctx.quick ? 1 : 3} runs; figures are file bytes per second`,
      "the importer streams the download into scratch space (hashed and xz/gzip-decompressed on the way), then qemu-img checks and converts it: a qcow2 needs random access, so its download is one pass more than a local convert",
      `importer run ${ctx.dist ? "from the compiled build (dist/)" : "through tsx"}`,
    ],
    data,
  };
}
