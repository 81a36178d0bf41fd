/**
 * `vireo create vm`'s core, pure: flags → a VirtualMachine manifest, validated with the API's own zod schema
 * before anyone sees it. Every error names the flag it came from, the field path and the cause.
 */
import { parse as parseYaml, stringify } from "yaml";
import { RUN_STRATEGIES } from "../../crds/api/spec.ts";
import { validateVirtualMachine } from "../../crds/api/validate.ts";
import { API_VERSION, KIND, type VirtualMachineInput } from "../../crds/api/virtual-machine.ts";

/** A bad flag (or a flag that produced an invalid field): which flag, which field, why. */
export class CreateVmError extends Error {
  /** Stable code. */
  readonly code = "CREATE_VM_USAGE";
  constructor(
    readonly flag: string,
    readonly path: string | undefined,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${flag}: ${path ? `${path}: ` : ""}${reason}`, options);
    this.name = "CreateVmError";
  }
}

/** One disk source given on the command line. */
export interface DiskFlag {
  kind: "containerdisk" | "pvc" | "blank";
  /** The flag's text as typed, for error messages. */
  text: string;
  /** Image (containerdisk), claim name (pvc) or capacity (blank). */
  source: string;
  name: string | undefined;
  bootOrder: number | undefined;
}

/** What `vireo create vm` was asked for (file contents already read by the shell). */
export interface CreateVmOptions {
  name: string;
  namespace?: string | undefined;
  memory?: string | undefined;
  cpu?: string | undefined;
  runStrategy?: string | undefined;
  instancetype?: string | undefined;
  preference?: string | undefined;
  disks: DiskFlag[];
  /** Contents of --user-data-file. */
  userData?: string | undefined;
  sshKeys: string[];
}

const FLAG_OF_KIND = {
  containerdisk: "--volume-containerdisk",
  pvc: "--volume-pvc",
  blank: "--volume-blank",
} as const;
const SOURCE_KEY = { containerdisk: "src", pvc: "src", blank: "size" } as const;

/** Parses `src:IMAGE,name:N,bootorder:1` (or `size:1Gi,...` for blank) into a DiskFlag. */
export function parseDiskFlag(kind: DiskFlag["kind"], text: string): DiskFlag {
  const flag = `${FLAG_OF_KIND[kind]} ${text}`;
  const fields = new Map<string, string>();
  for (const part of text.split(",")) {
    const i = part.indexOf(":");
    if (i <= 0) throw new CreateVmError(flag, undefined, `"${part}" is not key:value`);
    const key = part.slice(0, i);
    if (
      !["src", "size", "name", "bootorder"].includes(key) ||
      (key !== "name" && key !== "bootorder" && key !== SOURCE_KEY[kind])
    )
      throw new CreateVmError(
        flag,
        undefined,
        `unknown key "${key}"; use ${SOURCE_KEY[kind]}, name, bootorder`,
      );
    if (fields.has(key)) throw new CreateVmError(flag, undefined, `key "${key}" given twice`);
    fields.set(key, part.slice(i + 1));
  }
  const source = fields.get(SOURCE_KEY[kind]);
  if (!source) throw new CreateVmError(flag, undefined, `needs ${SOURCE_KEY[kind]}:…`);
  const bootText = fields.get("bootorder");
  const bootOrder = bootText === undefined ? undefined : Number(bootText);
  if (bootText !== undefined && !/^\d+$/.test(bootText))
    throw new CreateVmError(flag, undefined, `bootorder must be a whole number, got "${bootText}"`);
  return { kind, text, source, name: fields.get("name"), bootOrder };
}

/** Adds ssh keys to cloud-config user-data (ssh_authorized_keys), or makes a cloud-config holding them. */
export function withSshKeys(userData: string | undefined, keys: readonly string[]): string | undefined {
  if (keys.length === 0) return userData;
  if (userData === undefined)
    return `#cloud-config\n${stringify({ ssh_authorized_keys: [...keys] }, { lineWidth: 0 })}`;
  if (!/^#cloud-config[ \t]*\r?\n/.test(userData))
    throw new CreateVmError(
      "--ssh-key",
      undefined,
      "the user-data of --user-data-file is not #cloud-config (e.g. a script), so ssh_authorized_keys cannot be added; put the keys in it yourself",
    );
  let doc: unknown;
  try {
    doc = parseYaml(userData) ?? {};
  } catch (cause) {
    throw new CreateVmError("--user-data-file", undefined, `not valid YAML: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new CreateVmError("--user-data-file", undefined, "the #cloud-config is not a YAML mapping");
  const cfg = doc as Record<string, unknown>;
  const have = cfg["ssh_authorized_keys"];
  if (have !== undefined && !Array.isArray(have))
    throw new CreateVmError("--ssh-key", "ssh_authorized_keys", "is in the user-data but not a list");
  cfg["ssh_authorized_keys"] = [...((have as unknown[] | undefined) ?? []), ...keys];
  return `#cloud-config\n${stringify(cfg, { lineWidth: 0 })}`;
}

function diskName(d: DiskFlag, index: number): string {
  return d.name ?? `${d.kind}-${index}`;
}

/**
 * Builds the manifest for `opts`, validates it with the VirtualMachine schema, and returns it as the user
 * would write it (no defaults filled in). Throws CreateVmError naming the flag.
 */
export function buildVm(opts: CreateVmOptions): VirtualMachineInput {
  const cores = checkedCores(opts);
  const flagOfPath: Array<[string, string]> = [
    ["spec.memory", "--memory"],
    ["spec.cpu", "--cpu"],
    ["spec.runStrategy", "--run-strategy"],
    ["metadata.name", "NAME"],
    ["metadata.namespace", "--namespace"],
  ];
  const { disks, volumes } = diskSpecs(opts, flagOfPath);
  const vm = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: opts.name, ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}) },
    spec: {
      runStrategy: opts.runStrategy ?? "Always",
      ...(cores !== undefined ? { cpu: { cores } } : {}),
      memory: { guest: opts.memory ?? "512Mi" },
      ...(disks.length > 0 ? { disks, volumes } : {}),
    },
  } as VirtualMachineInput;
  const r = validateVirtualMachine(vm);
  if (!r.ok) {
    const p = r.problems[0]!;
    const flag =
      flagOfPath.find(
        ([prefix]) => p.path === prefix || p.path.startsWith(`${prefix}.`) || p.path.startsWith(`${prefix}[`),
      )?.[1] ?? "the flags";
    throw new CreateVmError(flag, p.path, p.message, { cause: r.error });
  }
  return vm;
}

/** Refuses the flags the API cannot express and a bad run strategy; returns --cpu as a number. */
function checkedCores(opts: CreateVmOptions): number | undefined {
  if (opts.instancetype !== undefined)
    throw new CreateVmError(
      "--instancetype",
      undefined,
      "Vireo's API has no instancetype yet; use --cpu and --memory",
    );
  if (opts.preference !== undefined)
    throw new CreateVmError(
      "--preference",
      undefined,
      "Vireo's API has no preference yet; set the fields in the manifest",
    );
  if (opts.runStrategy !== undefined && !(RUN_STRATEGIES as readonly string[]).includes(opts.runStrategy))
    throw new CreateVmError(
      "--run-strategy",
      "spec.runStrategy",
      `must be one of ${RUN_STRATEGIES.join(", ")}; got "${opts.runStrategy}"`,
    );
  if (opts.cpu === undefined) return undefined;
  if (!/^\d+$/.test(opts.cpu))
    throw new CreateVmError("--cpu", "spec.cpu.cores", `must be a whole number, got "${opts.cpu}"`);
  return Number(opts.cpu);
}

/** The disks and volumes in flag order, cloud-init last; records which flag each index came from. */
function diskSpecs(
  opts: CreateVmOptions,
  flagOfPath: Array<[string, string]>,
): { disks: Record<string, unknown>[]; volumes: Record<string, unknown>[] } {
  const counts = { containerdisk: 0, pvc: 0, blank: 0 };
  const disks: Record<string, unknown>[] = [];
  const volumes: Record<string, unknown>[] = [];
  for (const d of opts.disks) {
    const name = diskName(d, counts[d.kind]++);
    const flag = `${FLAG_OF_KIND[d.kind]} ${d.text}`;
    flagOfPath.push([`spec.disks[${disks.length}]`, flag], [`spec.volumes[${volumes.length}]`, flag]);
    disks.push({ name, ...(d.bootOrder !== undefined ? { bootOrder: d.bootOrder } : {}) });
    volumes.push({
      name,
      ...(d.kind === "containerdisk"
        ? { containerDisk: { image: d.source } }
        : d.kind === "pvc"
          ? { persistentVolumeClaim: { claimName: d.source } }
          : { emptyDisk: { capacity: d.source } }),
    });
  }
  const userData = withSshKeys(opts.userData, opts.sshKeys);
  if (userData !== undefined) {
    const flag = opts.userData !== undefined ? "--user-data-file" : "--ssh-key";
    flagOfPath.push([`spec.disks[${disks.length}]`, flag], [`spec.volumes[${volumes.length}]`, flag]);
    disks.push({ name: "cloudinit" });
    volumes.push({ name: "cloudinit", cloudInitNoCloud: { userData } });
  }
  return { disks, volumes };
}

/** The manifest as YAML. */
export function vmYaml(vm: VirtualMachineInput): string {
  return stringify(vm, { lineWidth: 0 });
}
