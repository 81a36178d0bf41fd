import { describe, expect, it } from "vitest";
import type { FileFacts, ImageInfoResult, StorageDeps } from "./deps.ts";
import { DiskError } from "./errors.ts";
import { prepareDisks } from "./prepare.ts";
import { testConfig, testDisk } from "./testing.ts";

const GiB = 2 ** 30;

/** An in-memory world that records every call that would change it. */
function fakeDeps(opts: {
  files: Record<string, FileFacts>;
  images?: Record<string, ImageInfoResult>;
  directIo?: boolean;
}) {
  const changes: string[] = [];
  const warnings: { obj: object; msg: string }[] = [];
  const change = (what: string) => async () => void changes.push(what);
  const deps: StorageDeps = {
    fs: {
      stat: async (p) => opts.files[p],
      space: async () => ({ totalBytes: 100 * GiB, availableBytes: 50 * GiB }),
      readDir: async (p) =>
        Object.keys(opts.files)
          .filter((f) => f.startsWith(`${p}/`) && !f.slice(p.length + 1).includes("/"))
          .map((f) => f.slice(p.length + 1)),
      readFile: async () => Buffer.from("data"),
      readHead: async () => Buffer.alloc(0),
      mkdirp: async (p) => void changes.push(`mkdirp ${p}`),
      writeFile: async (p) => void changes.push(`write ${p}`),
      remove: async (p) => void changes.push(`remove ${p}`),
      createSparse: async (p, size) => void changes.push(`create ${p} ${size}`),
      grow: async (p, size) => void changes.push(`grow ${p} ${size}`),
      makeReadOnly: async (p) => (changes.push(`chmod ${p}`), true),
      probeDirectIo: async () => opts.directIo ?? true,
    },
    images: {
      info: async (p) => opts.images?.[p] ?? { ok: false, reason: "unreadable", message: "no such image" },
      check: async () => ({ ok: true, leakedClusters: 0 }),
      createOverlay: change("overlay"),
      resize: change("resize"),
    },
    iso: { build: async (out) => void changes.push(`iso ${out}`) },
    log: { info: () => undefined, warn: (obj, msg) => void warnings.push({ obj, msg }) },
  };
  return { deps, changes, warnings };
}

const dir: FileFacts = { kind: "directory", sizeBytes: 0, allocatedBytes: 0 };
const root = "/r";
const pvc = testDisk("root", {
  kind: "pvcFilesystem",
  mountPath: "/r/var/run/vireo/volumes/root",
  claimName: "root-pvc",
  capacityBytes: 10 * GiB,
});
const cfg = testDisk("cfg", {
  kind: "configMap",
  mountPath: "/r/var/run/vireo/volumes/cfg",
  name: "settings",
});

describe("prepareDisks", () => {
  it("refuses a bad disk before touching any other, naming it", async () => {
    const { deps, changes } = fakeDeps({ files: { "/r/var/run/vireo/volumes/root": dir } });
    const err = await prepareDisks(testConfig(root, [pvc, cfg]), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskError);
    expect(err).toMatchObject({ code: "MOUNT_MISSING", disk: "cfg" });
    // Only the launcher's own state directory was made; the claim's image was not created.
    expect(changes).toEqual(["mkdirp /r/var/lib/vireo/disks"]);
  });

  it("prepares every disk in config order once all are planned", async () => {
    const { deps, changes } = fakeDeps({
      files: { "/r/var/run/vireo/volumes/root": dir, "/r/var/run/vireo/volumes/cfg": dir },
    });
    const disks = await prepareDisks(testConfig(root, [pvc, { ...cfg, readOnly: true, bus: "sata" }]), deps);
    expect(disks.map((d) => [d.name, d.path, d.readOnly, d.media])).toEqual([
      ["root", "/r/var/run/vireo/volumes/root/disk.img", false, "disk"],
      ["cfg", "/r/var/lib/vireo/disks/cfg.configMap.iso", true, "cdrom"],
    ]);
    expect(changes).toContain(`create /r/var/run/vireo/volumes/root/disk.img ${9676 * 2 ** 20}`);
    expect(changes).toContain("iso /r/var/lib/vireo/disks/cfg.configMap.iso");
  });

  it("logs the fallback when the storage lacks O_DIRECT", async () => {
    const { deps, warnings } = fakeDeps({ files: { "/r/var/run/vireo/volumes/root": dir }, directIo: false });
    const [disk] = await prepareDisks(testConfig(root, [pvc]), deps);
    expect(disk).toMatchObject({ cache: "writethrough", aio: "threads" });
    expect(warnings).toEqual([
      {
        obj: { disk: "root", path: "/r/var/run/vireo/volumes/root", cache: "writethrough", aio: "threads" },
        msg: expect.stringContaining("O_DIRECT"),
      },
    ]);
  });

  it("names the disk in errors from the system underneath", async () => {
    const { deps } = fakeDeps({ files: {} });
    deps.fs.stat = async () => {
      throw Object.assign(new Error("EACCES: permission denied, stat '/r/x'"), {
        code: "EACCES",
        path: "/r/x",
      });
    };
    const err = await prepareDisks(testConfig(root, [pvc]), deps).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "PERMISSION_DENIED", disk: "root", path: "/r/x" });
    expect((err as DiskError).message).toMatch(/^disk "root": EACCES/);
    expect((err as DiskError).cause).toBeInstanceOf(Error);
  });
});
