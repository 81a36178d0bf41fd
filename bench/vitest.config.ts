import { defineConfig } from "vitest/config";

// The bench's pure helpers (parsers, statistics, table) have unit tests beside them; run them with
// `npx vitest run -c bench/vitest.config.ts` (the root config's unit project does not look in bench/).
export default defineConfig({
  test: { include: ["bench/**/*.test.ts"], root: ".", testTimeout: 20_000 },
});
