/**
 * The launcher's KVM probe as a separate process, for integration tests that run it as the launcher's
 * user with the launcher's device nodes (asUnprivileged): prints the probe's result as one JSON line.
 *
 *   node --import tsx launcher/network/testing/kvm-probe-side.ts
 */
import { probeKvm } from "../../preflight/kvm-probe.ts";

process.stdout.write(`${JSON.stringify(await probeKvm())}\n`);
