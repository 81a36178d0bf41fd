import { defineConfig } from "vitest/config";

// Two projects: fast pure-logic unit tests beside the code, and integration tests that start real
// components (kube-apiserver, QEMU, network namespaces). Integration files run one at a time because the
// machine has two cores and TCG guests are CPU-bound.
export default defineConfig({
  test: {
    reporters: ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "{crds,operator,launcher,cli,deviceplugin,importer,scripts,bench,lib}/**/*.test.ts",
            "test/unit/**/*.test.ts",
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          pool: "forks",
        },
      },
    ],
  },
});
