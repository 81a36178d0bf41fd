/**
 * The narrow adapter through which the executor touches the network namespace: read the live state,
 * run `ip` batches, sysctls and nftables transactions. The real one runs iproute2 and nft as child
 * processes and reads/writes /proc/sys (through procps' sysctl when it acts on another namespace);
 * unit tests use a fake.
 */
import { runProgram } from "../../lib/process/run.ts";
import { readFile, writeFile } from "node:fs/promises";
import { NetworkError } from "./errors.ts";
import {
  IP_READ_BATCH,
  IP_READ_ROUTES6,
  parseIpBatch,
  parseNftDigest,
  type IpState,
  type LiveState,
} from "./live-state.ts";

/** Operations on one network namespace. */
export interface NetHost {
  /** Reads links, addresses, IPv4 routes and neighbours. */
  readIp(): Promise<IpState>;
  /** Reads sysctls (undefined: no such key, e.g. a link's that does not exist yet). */
  readSysctls(keys: readonly string[]): Promise<LiveState["sysctls"]>;
  /** Reads the digests of nftables tables given as `family name` (undefined: no such table). */
  readNftDigests(tables: readonly string[]): Promise<LiveState["nftDigests"]>;
  /** Runs `ip` batch lines in one process; stops at the first failing line. */
  ipBatch(lines: readonly string[]): Promise<void>;
  /** Writes sysctls. */
  writeSysctls(values: ReadonlyArray<{ key: string; value: number }>): Promise<void>;
  /** Runs one `nft -f -` transaction. */
  nft(script: string): Promise<void>;
}

/** Options of {@link commandHost}. */
export interface CommandHostOptions {
  /**
   * Words put before every command, e.g. `["ip", "netns", "exec", "pod1"]` to act on a named namespace
   * (standalone mode, tests). Empty inside the pod.
   */
  prefix?: readonly string[];
  /** Where group names are resolved (ip prints a tap's group by name). */
  groupFile?: string;
}

/** The /proc/sys file of a dotted sysctl key (the keys the planner makes hold no dots in names). */
const procSysPath = (key: string) => `/proc/sys/${key.replaceAll(".", "/")}`;

interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

async function run(argv: readonly string[], input?: string): Promise<Run> {
  const r = await runProgram(argv, { input: input ?? "", maxOutputChars: 64 << 20 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode ?? -1 };
}

async function gidResolver(groupFile: string): Promise<(group: string) => number | undefined> {
  const text = await readFile(groupFile, "utf8").catch(() => "");
  const byName = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name && gid && /^\d+$/.test(gid)) byName.set(name, Number(gid));
  }
  return (group) => byName.get(group);
}

/** The real adapter: iproute2, sysctl and nft as child processes (optionally inside a named netns). */
export function commandHost(options: CommandHostOptions = {}): NetHost {
  const prefix = options.prefix ?? [];
  const exec = async (argv: readonly string[], input?: string, what = argv[0]!): Promise<string> => {
    let r: Run;
    try {
      r = await run([...prefix, ...argv], input);
    } catch (cause) {
      throw new NetworkError("APPLY_FAILED", `cannot run ${argv[0]}: ${(cause as Error).message}`, { cause });
    }
    if (r.code !== 0)
      throw new NetworkError(
        "APPLY_FAILED",
        `${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
        {
          cause: { argv, input, stderr: r.stderr },
        },
      );
    return r.stdout;
  };
  return {
    async readIp() {
      const gidOf = await gidResolver(options.groupFile ?? "/etc/group");
      const [out, routes6] = await Promise.all([
        exec(["ip", "-json", "-details", "-batch", "-"], IP_READ_BATCH.join("\n") + "\n"),
        // A kernel booted with ipv6.disable=1 refuses the family: no IPv6 routes then.
        exec(["ip", ...IP_READ_ROUTES6]).catch(() => "[]"),
      ]);
      return parseIpBatch(`${out.trimEnd()}\n${routes6.trim() || "[]"}\n`, gidOf);
    },
    async readSysctls(keys) {
      const values: Record<string, number | undefined> = {};
      if (!keys.length) return values;
      if (!prefix.length) {
        // Inside the namespace: /proc/sys directly, saving a process per read on a busy node.
        for (const key of keys) {
          const text = await readFile(procSysPath(key), "utf8").catch(() => undefined);
          values[key] = text === undefined ? undefined : Number(text.trim());
        }
        return values;
      }
      // -e: a missing key is not an error; it just has no line in the output.
      const r = await run([...prefix, "sysctl", "-e", ...keys]);
      for (const key of keys) values[key] = undefined;
      for (const line of r.stdout.split("\n")) {
        const m = /^(\S+) = (-?\d+)/.exec(line);
        if (m) values[m[1]!.replaceAll("/", ".")] = Number(m[2]);
      }
      return values;
    },
    async readNftDigests(tables) {
      const listings = await Promise.all(
        tables.map((t) => run([...prefix, "nft", "list", "table", ...t.split(" ")])),
      );
      const digests: Record<string, string | undefined> = {};
      tables.forEach(
        (t, i) => (digests[t] = listings[i]!.code === 0 ? parseNftDigest(listings[i]!.stdout) : undefined),
      );
      return digests;
    },
    async ipBatch(lines) {
      if (lines.length) await exec(["ip", "-batch", "-"], lines.join("\n") + "\n", "ip -batch");
    },
    async writeSysctls(values) {
      if (!values.length) return;
      if (prefix.length) {
        await exec(["sysctl", "-q", "-w", ...values.map((v) => `${v.key}=${v.value}`)]);
        return;
      }
      for (const v of values) {
        try {
          await writeFile(procSysPath(v.key), `${v.value}\n`);
        } catch (cause) {
          throw new NetworkError(
            "APPLY_FAILED",
            `cannot set ${v.key}=${v.value}: ${(cause as Error).message}`,
            { cause },
          );
        }
      }
    },
    async nft(script) {
      await exec(["nft", "-f", "-"], script);
    },
  };
}
