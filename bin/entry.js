// Shared by the bin wrappers: runs the TypeScript source through tsx in a checkout; the compiled build
// (dist/) in images, where no source ships, or when VIREO_USE_DIST=1 (benchmarks: it starts faster).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Imports `module` (a path relative to the repository root, without extension) from source or dist. */
export async function runEntry(module) {
  const compiled = fileURLToPath(new URL(`../dist/${module}.js`, import.meta.url));
  const source = new URL(`../${module}.ts`, import.meta.url);
  if (existsSync(compiled) && (process.env.VIREO_USE_DIST === "1" || !existsSync(source))) {
    await import(pathToFileURL(compiled).href);
  } else {
    const { register } = await import("tsx/esm/api");
    register();
    await import(source.href);
  }
}
