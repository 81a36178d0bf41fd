/**
 * Expansion: a VM spec as stored + its instancetype + its preference → the spec the operator runs. Pure.
 *
 * The API server applies the CRD's defaults before anyone reads a VM, so "unset" cannot be told apart from
 * "set to the default". Vireo's rule, as documented in docs/instancetypes.md: a VM field that holds its
 * schema default counts as unset — the instancetype may own it and the preference may fill it.
 */
import { parseQuantity } from "./quantity.ts";
import type { InstancetypeSpec } from "./instancetype.ts";
import type { PreferenceSpec } from "./preference.ts";
import type { VmSpec, VmSpecStored } from "./spec.ts";
import { vmSpecStoredShape } from "./spec.ts";
import { formatPath, problemsFrom, type Problem } from "./validate.ts";

/** Stable codes of an expansion that failed. */
export type ExpansionCode =
  "InvalidSpec" | "InstancetypeConflict" | "InstancetypeUnsupported" | "PreferenceRequirementsUnmet";

/** An instancetype or preference as resolved for one VM (from the live object or a pinned revision). */
export interface Resolved<S> {
  kind: string;
  name: string;
  spec: S;
}

/** What a VM's references resolved to; each must be given when the VM names it. */
export interface ExpansionInputs {
  instancetype?: Resolved<InstancetypeSpec>;
  preference?: Resolved<PreferenceSpec>;
}

/** Result of {@link expandSpec}. */
export type ExpansionResult =
  { ok: true; spec: VmSpec } | { ok: false; code: ExpansionCode; problems: Problem[] };

const DEFAULT_CPU = { sockets: 1, cores: 1, threads: 1, model: "host-model" } as const;

const fail = (code: ExpansionCode, problems: Problem[]): ExpansionResult => ({ ok: false, code, problems });

/** What the VM sets that its instancetype owns: every one with its field path. */
function conflicts(spec: VmSpecStored, it: Resolved<InstancetypeSpec>): Problem[] {
  const owner = `the instancetype ${it.name}`;
  const out: Problem[] = [];
  if (spec.memory)
    out.push({ path: "spec.memory", message: `memory is set by ${owner}; remove spec.memory` });
  for (const f of ["sockets", "cores", "threads"] as const)
    if (spec.cpu[f] !== DEFAULT_CPU[f])
      out.push({
        path: `spec.cpu.${f}`,
        message: `the vCPU count is set by ${owner} (cpu.guest ${it.spec.cpu.guest})`,
      });
  if (it.spec.cpu.model !== undefined && spec.cpu.model !== DEFAULT_CPU.model)
    out.push({ path: "spec.cpu.model", message: `the CPU model is set by ${owner} (${it.spec.cpu.model})` });
  // The VM may add dedicated CPUs itself, but not take back what its instancetype gives.
  for (const [f, vmField] of [
    ["dedicatedCPUPlacement", "dedicatedCpuPlacement"],
    ["isolateEmulatorThread", "isolateEmulatorThread"],
  ] as const)
    if (it.spec.cpu[f] && spec.cpu[vmField] === false)
      out.push({ path: `spec.cpu.${vmField}`, message: `cpu.${f} is set by ${owner}` });
  return out;
}

/** vCPUs laid out as the preference asks (sockets unless it says cores or threads). */
function topology(
  guest: number,
  pref: PreferenceSpec | undefined,
): Pick<VmSpec["cpu"], "sockets" | "cores" | "threads"> {
  switch (pref?.cpu?.preferredCPUTopology) {
    case "cores":
      return { sockets: 1, cores: guest, threads: 1 };
    case "threads":
      return { sockets: 1, cores: 1, threads: guest };
    default:
      return { sockets: guest, cores: 1, threads: 1 };
  }
}

function applyInstancetype(
  spec: VmSpecStored,
  it: Resolved<InstancetypeSpec>,
  pref?: PreferenceSpec,
): VmSpecStored {
  const { cpu, memory } = it.spec;
  return {
    ...spec,
    cpu: {
      ...spec.cpu,
      ...topology(cpu.guest, pref),
      ...(cpu.model ? { model: cpu.model } : {}),
      ...(cpu.dedicatedCPUPlacement ? { dedicatedCpuPlacement: true } : {}),
      ...(cpu.isolateEmulatorThread ? { isolateEmulatorThread: true } : {}),
      ...(cpu.numa ? { numa: { guestMappingPassthrough: {} } } : {}),
    },
    memory: { guest: memory.guest, ...(memory.hugepages ? { hugepages: { ...memory.hugepages } } : {}) },
  };
}

function isDefaultFirmware(f: VmSpecStored["firmware"]): boolean {
  return f.bios !== undefined && Object.keys(f.bios).length === 0 && !f.uefi && !f.kernelBoot;
}

/** Fills what the VM left at its default; never changes a value the VM chose. */
function applyPreference(spec: VmSpecStored, p: PreferenceSpec): VmSpecStored {
  const out: VmSpecStored = { ...spec };
  const bus = p.devices?.preferredDiskBus;
  if (bus) out.disks = spec.disks.map((d) => (d.bus === "virtio" ? { ...d, bus } : d));
  const model = p.devices?.preferredInterfaceModel;
  if (model) out.interfaces = spec.interfaces.map((i) => (i.model === "virtio" ? { ...i, model } : i));
  if (p.firmware?.preferredUseEfi && isDefaultFirmware(spec.firmware))
    out.firmware = { uefi: { secureBoot: p.firmware.preferredUseSecureBoot ?? false } };
  const machine = p.machine?.preferredMachineType;
  if (machine && spec.machine.type === "q35") out.machine = { ...spec.machine, type: machine };
  // features and clock have no defaults, so unset is told apart from set: only an absent one is filled.
  const hv = p.features?.preferredHyperv;
  if (hv && !spec.features?.hyperv) out.features = { ...spec.features, hyperv: hv };
  if (p.clock?.preferredClock && !spec.clock) out.clock = p.clock.preferredClock;
  const tpm = p.devices?.preferredTPM;
  if (tpm && !spec.devices.tpm) out.devices = { ...spec.devices, tpm: { ...tpm } };
  const sc = p.volumes?.preferredStorageClassName;
  if (sc && !spec.stateStorage?.storageClassName)
    out.stateStorage = { ...spec.stateStorage, storageClassName: sc };
  return out;
}

/** The preference's minimum size against the expanded VM; the path names whoever chose the size. */
function unmet(spec: VmSpec, inputs: ExpansionInputs): Problem[] {
  const req = inputs.preference?.spec.requirements;
  if (!req || !inputs.preference) return [];
  const pref = `the preference ${inputs.preference.name}`;
  const sizer = inputs.instancetype ? `the instancetype ${inputs.instancetype.name}` : "the VM";
  const out: Problem[] = [];
  const vcpus = spec.cpu.sockets * spec.cpu.cores * spec.cpu.threads;
  if (req.cpu && vcpus < req.cpu.guest)
    out.push({
      path: inputs.instancetype ? "spec.instancetype.name" : "spec.cpu",
      message: `${pref} needs at least ${req.cpu.guest} vCPUs; ${sizer} gives ${vcpus}`,
    });
  const have = parseQuantity(spec.memory.guest) ?? 0;
  const need = req.memory ? (parseQuantity(req.memory.guest) ?? 0) : 0;
  if (req.memory && have < need)
    out.push({
      path: inputs.instancetype ? "spec.instancetype.name" : "spec.memory.guest",
      message: `${pref} needs at least ${req.memory.guest} of memory; ${sizer} gives ${spec.memory.guest}`,
    });
  return out;
}

/** Expands a stored spec with its resolved instancetype and preference. Pure. */
export function expandSpec(spec: VmSpecStored, inputs: ExpansionInputs): ExpansionResult {
  if (spec.instancetype && !inputs.instancetype)
    return fail("InvalidSpec", [{ path: "spec.instancetype", message: "the instancetype was not resolved" }]);
  if (spec.preference && !inputs.preference)
    return fail("InvalidSpec", [{ path: "spec.preference", message: "the preference was not resolved" }]);
  let out = spec;
  if (inputs.instancetype) {
    const bad = conflicts(spec, inputs.instancetype);
    if (bad.length) return fail("InstancetypeConflict", bad);
    out = applyInstancetype(out, inputs.instancetype, inputs.preference?.spec);
  }
  if (inputs.preference) out = applyPreference(out, inputs.preference.spec);
  if (!out.memory)
    return fail("InvalidSpec", [
      { path: "spec.memory", message: "memory is required unless an instancetype gives it" },
    ]);
  const expanded = { ...out, memory: out.memory };
  const short = unmet(expanded, inputs);
  if (short.length) return fail("PreferenceRequirementsUnmet", short);
  return { ok: true, spec: expanded };
}

/** Result of {@link expandVirtualMachine}: the VM object with its spec expanded, ready for full validation. */
export type ExpandedVm<T> =
  { ok: true; vm: T & { spec: VmSpec } } | { ok: false; code: ExpansionCode; problems: Problem[] };

/**
 * Parses an untrusted VM's spec as stored and expands it. A VM without instancetype or preference comes back
 * unchanged (its spec not even parsed): full validation is the caller's, as for any VM.
 */
export function expandVirtualMachine<T extends { spec?: unknown }>(
  raw: T,
  inputs: ExpansionInputs,
): ExpandedVm<T> {
  const s = raw.spec as { instancetype?: unknown; preference?: unknown } | undefined;
  if (!s || (s.instancetype === undefined && s.preference === undefined))
    return { ok: true, vm: raw as T & { spec: VmSpec } };
  const parsed = vmSpecStoredShape.safeParse(raw.spec);
  if (!parsed.success)
    return fail(
      "InvalidSpec",
      problemsFrom(parsed.error).map((p) => ({ ...p, path: prefixed(p.path) })),
    ) as ExpandedVm<T>;
  const r = expandSpec(parsed.data, inputs);
  return r.ok ? { ok: true, vm: { ...raw, spec: r.spec } } : r;
}

const prefixed = (path: string) =>
  path === formatPath([]) ? "spec" : path.startsWith("[") ? `spec${path}` : `spec.${path}`;

/** The names a VM's spec refers to, read without validating the rest (for loading them). */
export function referencesOf(spec: unknown): {
  instancetype?: { kind: string; name: string; revisionName?: string };
  preference?: { kind: string; name: string; revisionName?: string };
} {
  const s = spec as Record<string, unknown> | undefined;
  const ref = (v: unknown, dflt: string) => {
    const o = v as { kind?: unknown; name?: unknown; revisionName?: unknown } | undefined;
    if (!o || typeof o.name !== "string") return undefined;
    return {
      kind: typeof o.kind === "string" ? o.kind : dflt,
      name: o.name,
      ...(typeof o.revisionName === "string" ? { revisionName: o.revisionName } : {}),
    };
  };
  const it = ref(s?.instancetype, "VirtualMachineClusterInstancetype");
  const pr = ref(s?.preference, "VirtualMachineClusterPreference");
  return { ...(it ? { instancetype: it } : {}), ...(pr ? { preference: pr } : {}) };
}
