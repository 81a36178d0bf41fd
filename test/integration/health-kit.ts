// The judges of VM health that GitOps tools use, run for real: kstatus (sigs.k8s.io/cli-utils, built from the
// Go module proxy by scripts/kstatus/build.sh) and the Argo CD Lua health check under a Lua 5.1 interpreter
// (the dialect of Argo CD's gopher-lua).
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { repoRoot } from "./operator-kit.ts";

const run = promisify(execFile);

/** The Argo CD health check users paste into argocd-cm. */
export const ARGOCD_HEALTH_LUA = join(repoRoot, "charts/vireo/files/argocd-health.lua");

const verdictSchema = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  status: z.enum(["InProgress", "Failed", "Current", "Terminating", "NotFound", "Unknown"]),
  message: z.string(),
});

/** kstatus's verdict on one object. */
export type KstatusVerdict = z.infer<typeof verdictSchema>;

/** Argo CD's health statuses. */
export type ArgoHealth = "Healthy" | "Progressing" | "Degraded" | "Suspended" | "Missing" | "Unknown";

/** Builds the kstatus tool when missing (a no-op when cached) and returns its path. */
export async function kstatusBinary(): Promise<string> {
  const script = join(repoRoot, "scripts/kstatus/build.sh");
  await run("bash", [script], { timeout: 600_000 });
  return (await run("bash", [script, "--print-path"])).stdout.trim();
}

function feed(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${err.trim()}`)),
    );
    child.stdin.end(input);
  });
}

/** Runs kstatus (status.Compute) over objects as the API server returned them. */
export async function kstatus(binary: string, objects: unknown[]): Promise<KstatusVerdict[]> {
  return z.array(verdictSchema).parse(JSON.parse(await feed(binary, [], JSON.stringify(objects))));
}

/** A Lua 5.1 string literal for `s` (bytes outside printable ASCII as decimal escapes). */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, "utf8")) {
    const ch = String.fromCharCode(byte);
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (byte >= 0x20 && byte < 0x7f) out += ch;
    else out += `\\${byte}`;
  }
  return out + '"';
}

/** A JSON value as a Lua table constructor, as Argo CD hands `obj` to a health script (null drops). */
export function toLua(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "string") return luaString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "nil";
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(", ")}}`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null);
  return `{${entries.map(([k, v]) => `[${luaString(k)}] = ${toLua(v)}`).join(", ")}}`;
}

/** Runs the Argo CD health check over one object with the real interpreter. */
export async function argoHealth(
  object: unknown,
  script = ARGOCD_HEALTH_LUA,
): Promise<{ status: ArgoHealth; message: string }> {
  const program = [
    `obj = ${toLua(object)}`,
    `local hs = assert(loadfile(${luaString(script)}))()`,
    `io.write(hs.status, "\\n", hs.message or "", "\\n")`,
  ].join("\n");
  const [status, message] = (await feed("lua5.1", ["-"], program)).split("\n");
  return { status: status as ArgoHealth, message: message ?? "" };
}
