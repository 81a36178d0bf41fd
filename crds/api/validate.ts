import type { z } from "zod";
import { virtualMachineSchema, type VirtualMachine } from "./virtual-machine.ts";

/** One validation problem: a dotted field path (`spec.disks[0].name`) and a human message. */
export interface Problem {
  path: string;
  message: string;
}

/** Thrown (or returned) when a manifest is not a valid VirtualMachine. */
export class InvalidVirtualMachineError extends Error {
  /** Stable code for callers and logs. */
  readonly code = "INVALID_VIRTUAL_MACHINE";
  constructor(
    readonly problems: Problem[],
    options?: { cause?: unknown },
  ) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("\n"), options);
    this.name = "InvalidVirtualMachineError";
  }
}

/** Renders a zod path as Kubernetes does: `spec.disks[0].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || "(root)";
}

/** Flattens zod issues into problems, naming unknown fields individually. */
export function problemsFrom(error: z.ZodError): Problem[] {
  const problems: Problem[] = [];
  for (const i of error.issues) {
    if (i.code === "unrecognized_keys") {
      for (const key of i.keys)
        problems.push({ path: formatPath([...i.path, key]), message: "unknown field" });
    } else if (i.code === "invalid_union" && i.errors.length) {
      problems.push({ path: formatPath(i.path), message: i.message });
    } else {
      problems.push({ path: formatPath(i.path), message: i.message });
    }
  }
  return problems;
}

/** Result of validating one manifest. */
export type ValidationResult =
  { ok: true; vm: VirtualMachine } | { ok: false; problems: Problem[]; error: InvalidVirtualMachineError };

/** Validates an untrusted object as a VirtualMachine, applying defaults; reports every problem with its path. */
export function validateVirtualMachine(input: unknown): ValidationResult {
  const r = virtualMachineSchema.safeParse(input);
  if (r.success) return { ok: true, vm: r.data };
  const problems = problemsFrom(r.error);
  return { ok: false, problems, error: new InvalidVirtualMachineError(problems, { cause: r.error }) };
}

/** Like {@link validateVirtualMachine} but throws {@link InvalidVirtualMachineError}. */
export function parseVirtualMachine(input: unknown): VirtualMachine {
  const r = validateVirtualMachine(input);
  if (!r.ok) throw r.error;
  return r.vm;
}
