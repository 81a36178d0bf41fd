#!/usr/bin/env node
// Runs the compiled build when present (fast start, used in images), else the TypeScript source through tsx.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (existsSync(compiled) && !process.env.VIREO_FROM_SOURCE) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../cli/main.ts", import.meta.url).href);
}
