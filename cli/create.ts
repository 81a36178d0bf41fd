/**
 * `vireo create vm NAME [flags]`: prints a VirtualMachine manifest (like virtctl create vm). Offline: it
 * talks to no cluster; pipe it to `kubectl apply -f -`. The shell reads files; cli/create/vm-builder.ts decides.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { buildVm, CreateVmError, parseDiskFlag, vmYaml, type DiskFlag } from "./create/vm-builder.ts";

const HELP = `usage: vireo create vm NAME [options]

Prints a VirtualMachine manifest to stdout, validated with Vireo's own schema (the CRD's source); apply it
with  vireo create vm NAME ... | kubectl apply -f -

Options:
  -n, --namespace NS                      metadata.namespace (default: none, kubectl's namespace applies)
      --memory QUANTITY                   guest memory (default 512Mi)
      --cpu N                             vCPU cores (default 1)
      --run-strategy S                    Always (default), RerunOnFailure, Once, Manual or Halted
      --volume-containerdisk src:IMAGE[,name:N][,bootorder:B]   a containerDisk (repeatable)
      --volume-pvc src:CLAIM[,name:N][,bootorder:B]             a PersistentVolumeClaim (repeatable)
      --volume-blank size:QUANTITY[,name:N][,bootorder:B]       an empty ephemeral disk, emptyDisk (repeatable)
      --user-data-file FILE               cloud-init user-data (a cloudInitNoCloud volume "cloudinit")
      --ssh-key KEY                       an SSH public key, added to the #cloud-config's ssh_authorized_keys
                                          (repeatable; with --user-data-file, that file must be #cloud-config)
      --instancetype, --preference        not available: Vireo's API has no instancetype or preference yet
  -h, --help                              this help

Disks appear in the order containerdisks, PVCs, blanks, cloud-init; default names containerdisk-0, pvc-0,
blank-0, ... Networking is the API's default: one virtio NIC on the pod network.`;

/** `vireo create KIND ...`: only `vm` exists. */
export async function createCommand(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (
    kind === "--help" ||
    kind === "-h" ||
    (kind === "vm" && (rest.includes("--help") || rest.includes("-h")))
  ) {
    console.log(HELP);
    return 0;
  }
  if (kind !== "vm") {
    console.error(
      `vireo create: only "vm" can be created; got ${kind === undefined ? "nothing" : `"${kind}"`}\n\n${HELP}`,
    );
    return 2;
  }
  try {
    const { name, values } = parseCreateArgs(rest);
    const disks: DiskFlag[] = [
      ...(values["volume-containerdisk"] ?? []).map((t) => parseDiskFlag("containerdisk", t)),
      ...(values["volume-pvc"] ?? []).map((t) => parseDiskFlag("pvc", t)),
      ...(values["volume-blank"] ?? []).map((t) => parseDiskFlag("blank", t)),
    ];
    const vm = buildVm({
      name,
      namespace: values.namespace,
      memory: values.memory,
      cpu: values.cpu,
      runStrategy: values["run-strategy"],
      instancetype: values.instancetype,
      preference: values.preference,
      disks,
      userData: await readUserData(values["user-data-file"]),
      sshKeys: values["ssh-key"] ?? [],
    });
    process.stdout.write(vmYaml(vm));
    return 0;
  } catch (err) {
    return exitFor(err);
  }
}

/** The VM's name and the options; throws CreateVmError or parseArgs' TypeError on bad usage. */
function parseCreateArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      namespace: { type: "string", short: "n" },
      memory: { type: "string" },
      cpu: { type: "string" },
      "run-strategy": { type: "string" },
      instancetype: { type: "string" },
      preference: { type: "string" },
      "volume-containerdisk": { type: "string", multiple: true },
      "volume-pvc": { type: "string", multiple: true },
      "volume-blank": { type: "string", multiple: true },
      "user-data-file": { type: "string" },
      "ssh-key": { type: "string", multiple: true },
    },
  });
  if (positionals.length !== 1)
    throw new CreateVmError(
      "NAME",
      undefined,
      `vireo create vm takes one VM name; got ${positionals.length ? positionals.join(" ") : "none"}`,
    );
  return { name: positionals[0]!, values };
}

/** The --user-data-file's text (undefined without the flag); an unreadable file is the flag's error. */
async function readUserData(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    throw new CreateVmError(
      "--user-data-file",
      undefined,
      `cannot read ${file}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/** Exit status 2 for a usage failure, after saying what went wrong; rethrows anything else. */
function exitFor(err: unknown): number {
  if (err instanceof CreateVmError) {
    console.error(`vireo create vm: ${err.message}`);
    return 2;
  }
  if (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS")) {
    console.error(`vireo create vm: ${err.message}\n\n${HELP}`);
    return 2;
  }
  throw err;
}
