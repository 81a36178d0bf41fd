import { parseArgs } from "node:util";
import { parseQuantity } from "../crds/api/quantity.ts";

const USAGE = `usage: vireo run FILE [options]

Runs the VirtualMachine in FILE on this host (as root), with the launcher a pod would run: a network
namespace plays the pod, a work directory its volumes. Streams the guest's serial console; Ctrl-C shuts
the guest down with the ACPI power button (twice: stop it now).

Options:
  --timeout SECONDS      shut the guest down after SECONDS
  --exit-after-ready     shut the guest down once it is ready (readinessProbe, --ready-on-console)
  --ready-on-console RE  ready also needs a console line matching RE
  --work-dir DIR         use (and keep) DIR as the work directory
  --keep                 keep the temporary work directory
  --no-emulation         refuse TCG when KVM is unusable (default: emulate, and say so)
  --binding NAME         binding for NICs that name none: bridge (default), masquerade or passt
  --pvc-size QUANTITY    capacity of each PersistentVolumeClaim, a directory in the work dir (default 10Gi)

Images: vireo.dev/test-guest is the test guest from scripts/guest/build.sh; other images are directories
under $VIREO_IMAGES (default ~/.cache/vireo/images)/<name>/<tag>/. VIREO_ACCEL=tcg forces emulation.`;

/** `vireo run FILE`: standalone mode. Returns the launcher's exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      timeout: { type: "string" },
      "exit-after-ready": { type: "boolean" },
      "ready-on-console": { type: "string" },
      "work-dir": { type: "string" },
      keep: { type: "boolean" },
      "no-emulation": { type: "boolean" },
      binding: { type: "string" },
      "pvc-size": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`vireo run: expected one FILE\n\n${USAGE}`);
    return 2;
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    console.error(`vireo run: --timeout must be a positive number of seconds, got ${values.timeout}`);
    return 2;
  }
  const binding = values.binding ?? "bridge";
  if (binding !== "bridge" && binding !== "masquerade" && binding !== "passt") {
    console.error(`vireo run: --binding must be bridge, masquerade or passt, got ${binding}`);
    return 2;
  }
  const pvcSize = values["pvc-size"] === undefined ? undefined : parseQuantity(values["pvc-size"]);
  if (pvcSize !== undefined && !(Number.isInteger(pvcSize) && pvcSize >= 2 ** 20)) {
    console.error(`vireo run: --pvc-size must be a quantity of at least 1Mi, got ${values["pvc-size"]}`);
    return 2;
  }
  const { runStandalone } = await import("./run/standalone.ts");
  return runStandalone({
    file: positionals[0]!,
    ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
    exitAfterReady: values["exit-after-ready"] ?? false,
    ...(values["ready-on-console"] ? { readyOnConsole: new RegExp(values["ready-on-console"], "m") } : {}),
    ...(values["work-dir"] ? { workDir: values["work-dir"] } : {}),
    keep: values.keep ?? values["work-dir"] !== undefined,
    allowEmulation: !values["no-emulation"],
    defaultBinding: binding,
    ...(pvcSize !== undefined ? { pvcSizeBytes: pvcSize } : {}),
  });
}
