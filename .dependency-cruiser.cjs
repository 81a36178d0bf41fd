// The rooms of the house and their doors, checked on every `npm run lint` (docs/architecture.md draws them).
// Lower rooms never import higher ones; side rooms (operator, launcher, device plugin, importer) never import
// each other — what two of them must agree on lives in crds/ (the contract room), what they share as code in
// lib/ (the floor). Tests and test helpers may reach anywhere (they are judges), but not round in circles.
// Known violations in code that other work is moving are listed in .dependency-cruiser-known-violations.json
// (`npx depcruise-baseline` rewrites it); anything new fails.

/** Test code: tests, testing helpers and fixtures, which may import across rooms. */
const TESTS = "(\\.test\\.ts$|/testing/|/testing\\.ts$)";
const OURS = "^(crds|lib|launcher|operator|cli|deviceplugin|importer|test|bench|scripts)/";

/** A forbidden edge between rooms, for production code. */
const room = (name, comment, from, to, extra = {}) => ({
  name,
  comment,
  severity: "error",
  from: { path: from, pathNot: TESTS, ...extra.from },
  to: { path: to, ...extra.to },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import circles (types included): a room that imports itself back cannot be read in order.",
      severity: "error",
      from: { path: OURS },
      to: { circular: true },
    },
    room(
      "contract-is-the-floor-of-crds",
      "crds/contract is pure names and shapes; it imports nothing of ours.",
      "^crds/contract/",
      OURS,
      { to: { pathNot: "^crds/contract/" } },
    ),
    room(
      "crds-import-nothing-above",
      "The API, the launcher config and the generator import only crds/ (and lib/ never).",
      "^crds/",
      "^(lib|launcher|operator|cli|deviceplugin|importer|test|bench|scripts)/",
    ),
    room(
      "api-below-launcher-config",
      "The VirtualMachine API does not know the launcher config or the generator.",
      "^crds/api/",
      "^crds/(launcher|gen)/",
    ),
    room(
      "lib-is-the-floor",
      "lib/ (logger, clock, HTTP, processes, sockets, Kubernetes client) imports only lib/ and crds/contract.",
      "^lib/",
      OURS,
      { to: { pathNot: "^(lib|crds/contract)/" } },
    ),
    room(
      "launcher-alone",
      "The launcher runs in the pod: no operator, CLI, device plugin or importer code.",
      "^launcher/",
      "^(operator|cli|deviceplugin|importer)/",
    ),
    room(
      "operator-alone",
      "The operator talks to the launcher and importer through crds/ contracts, never their code.",
      "^operator/",
      "^(launcher|cli|deviceplugin|importer)/",
    ),
    room(
      "device-plugin-alone",
      "The device plugin shares only crds/contract (resource names, pod names) and lib/.",
      "^deviceplugin/",
      "^(launcher|operator|cli|importer)/",
      // The node network-setup agent runs launcher/network's planner and executor for the launcher, so the
      // pod needs no privilege (docs/security.md): that room, and nothing else of the launcher.
      { from: { pathNot: `${TESTS}|^deviceplugin/netsetup/` } },
    ),
    room(
      "node-netsetup-through-the-network-room",
      "The node agent uses launcher/network only; never the supervisor, QEMU or storage.",
      "^deviceplugin/netsetup/",
      "^(operator|cli|importer)/|^launcher/(?!network/)",
    ),
    room(
      "importer-alone",
      "The importer shares only crds/ and lib/.",
      "^importer/",
      "^(launcher|operator|cli|deviceplugin)/",
    ),
    room(
      "cli-not-operator",
      "The CLI reads and writes the API; it does not run the operator's code.",
      "^cli/",
      "^operator/",
    ),
    room(
      "cli-launcher-only-for-vireo-run",
      "Only `vireo run` (cli/run/) starts a launcher, through its doors: the control client, the runtime files, the status type.",
      "^cli/",
      "^launcher/",
      {
        from: { pathNot: `(^cli/run/|${TESTS})` },
      },
    ),
    room(
      "vireo-run-through-the-launcher-doors",
      "cli/run/ uses the launcher's control client, runtime files and status type, nothing inside it.",
      "^cli/run/",
      "^launcher/",
      { to: { pathNot: "^launcher/(control/client|qemu/runtime-files|supervisor/state)\\.ts$" } },
    ),
    room(
      "launcher-rooms-below-the-supervisor",
      "qemu/, network/, storage/, preflight/, metrics/, console/, control/, http/ are used by the supervisor, not the reverse (types aside).",
      "^launcher/(qemu|network|storage|preflight|metrics|console|control|http|limits)/",
      "^launcher/supervisor/",
      { to: { dependencyTypesNot: ["type-only"] } },
    ),
    room(
      "kube-below-reconcile",
      "operator/kube/ (caches, informers, events) does not import the decisions it feeds.",
      "^operator/kube/",
      "^operator/(reconcile|pod)/",
    ),
    room(
      "production-not-tests",
      "Shipped code does not import tests, benchmarks or scripts.",
      "^(crds|lib|launcher|operator|cli|deviceplugin|importer)/",
      "^(test|bench|scripts)/",
    ),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|charts|packages/[^/]+/dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
