// The real importer on a real user's image: the Debian cloud image (scripts/guest-image) served from a
// loopback HTTP server with its sha256, imported into a claim directory as raw; qemu-img compare finds the
// imported disk identical to the qcow2 (the extra space it was grown by reads as zeros) and the GPT is the one
// the image's manifest records.
import { execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importerConfigSchema } from "../../crds/importer/config.ts";
import { filesystemDiskBytes } from "../../importer/decide.ts";
import { startImporter } from "../../importer/server.ts";
import { debianImage, type DebianImage } from "../guest/debian-image.ts";

let image: DebianImage;
let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  image = debianImage();
  dir = mkdtempSync(join(tmpdir(), "vireo-import-cloud-"));
  server = createServer((req, res) => {
    if (req.url !== "/debian-12.qcow2") return void res.writeHead(404).end();
    res.writeHead(200, {
      "content-length": statSync(image.disk).size,
      "content-type": "application/octet-stream",
    });
    createReadStream(image.disk).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/debian-12.qcow2`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it("imports the Debian cloud image byte for byte, sized to the claim", async () => {
  const claimBytes = 3 * 2 ** 30;
  const cfg = importerConfigSchema.parse({
    version: "v1",
    source: { kind: "http", url, checksum: { algorithm: "sha256", hex: image.manifest.sha256 } },
    target: { kind: "filesystem", dir, capacityBytes: claimBytes, format: "raw" },
    scratchDir: join(dir, ".scratch"),
    progressPort: 0,
  });
  const imp = await startImporter(cfg);
  const result = await imp.result;
  await imp.close();
  expect(result).toMatchObject({
    result: "Succeeded",
    virtualSizeBytes: image.manifest.virtualSizeBytes,
    sourceFormat: "qcow2",
  });
  const disk = join(dir, "disk.img");
  expect(statSync(disk).size).toBe(filesystemDiskBytes(claimBytes));
  // Exit 0: identical contents; the area beyond the source's 2 GiB is unallocated/zero.
  execFileSync("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", disk, image.disk], { stdio: "pipe" });
  const table = JSON.parse(execFileSync("sfdisk", ["--json", disk], { encoding: "utf8" })) as {
    partitiontable: { label: string; id: string; partitions: unknown[] };
  };
  expect(table.partitiontable.label).toBe("gpt");
  expect(table.partitiontable.id.toLowerCase()).toBe(image.manifest.partitionTable.diskGuid.toLowerCase());
  expect(table.partitiontable.partitions.length).toBe(image.manifest.partitions.length);
});
