import { defineConfig } from "vitest/config";

// The end-to-end suite on its own (`npx vitest run --config test/e2e/vitest.config.ts`): container images
// through podman and a real single-node cluster (scripts/cluster/up.sh). Root, minutes per file, one file at
// a time.
export default defineConfig({
  test: {
    name: "e2e",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.test.ts"],
    testTimeout: 900_000,
    hookTimeout: 1_800_000,
    fileParallelism: false,
    pool: "forks",
  },
});
