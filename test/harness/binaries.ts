import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { BinaryMissingError } from "./errors.ts";

/** Programs the harness runs; scripts/k8s/build.sh builds them. */
export type BinaryName = "etcd" | "kube-apiserver" | "kubectl" | "helm";

/** Where scripts/k8s/versions.env lives: the single place the pinned versions are written down. */
export const versionsFile = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../scripts/k8s/versions.env",
);

const pinnedVersionsSchema = z.object({
  K8S_VERSION: z.string().regex(/^v1\.\d+\.\d+$/),
  ETCD_VERSION: z.string().regex(/^v3\.\d+\.\d+$/),
  HELM_VERSION: z.string().regex(/^v3\.\d+\.\d+$/),
});

/** The versions scripts/k8s/build.sh builds. */
export type PinnedVersions = z.infer<typeof pinnedVersionsSchema>;

/** Parses versions.env text (KEY=value lines, # comments) into the pinned versions. */
export function parsePinnedVersions(text: string): PinnedVersions {
  const entries = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const eq = line.indexOf("=");
      return [line.slice(0, eq), line.slice(eq + 1)] as const;
    });
  return pinnedVersionsSchema.parse(Object.fromEntries(entries));
}

/** Reads the pinned versions from scripts/k8s/versions.env. */
export function pinnedVersions(): PinnedVersions {
  return parsePinnedVersions(readFileSync(versionsFile, "utf8"));
}

/**
 * The directory holding the binaries: `VIREO_K8S_BIN` when set, else the `current` symlink directory
 * that build.sh maintains under `${VIREO_CACHE:-~/.cache/vireo}/bin`.
 */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIREO_K8S_BIN) return env.VIREO_K8S_BIN;
  const cache = env.VIREO_CACHE ?? join(homedir(), ".cache", "vireo");
  return join(cache, "bin", "current");
}

/** Absolute path of an executable binary, or a BinaryMissingError that says to run build.sh. */
export function resolveBinary(name: BinaryName, dir: string = binDir()): string {
  const path = join(dir, name);
  try {
    accessSync(path, constants.X_OK);
  } catch (cause) {
    throw new BinaryMissingError(name, path, cause);
  }
  return path;
}
