import type { StorageDeps, StorageLogger } from "./deps.ts";
import { xorrisofs } from "./iso.ts";
import { nodeFs } from "./node-fs.ts";
import { qemuImg } from "./qemu-img.ts";

/** The real dependencies: node:fs, qemu-img and xorrisofs from PATH, and the given logger. */
export function nodeStorageDeps(log: StorageLogger): StorageDeps {
  return { fs: nodeFs(), images: qemuImg(), iso: xorrisofs(), log };
}
