#!/usr/bin/env node
// Runs the TypeScript source through tsx in a checkout; the compiled build (dist/) in images, where no source
// ships, or when VIREO_USE_DIST=1 (benchmarks: it starts faster).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const compiled = fileURLToPath(new URL("../dist/deviceplugin/main.js", import.meta.url));
const source = new URL("../deviceplugin/main.ts", import.meta.url);
if (existsSync(compiled) && (process.env.VIREO_USE_DIST === "1" || !existsSync(source))) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
}
