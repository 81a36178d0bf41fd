import { z } from "zod";

/** Prefix of every report line the test guest writes to its serial console. */
export const GUEST_REPORT_PREFIX = "VIREO-GUEST";

/** One report line: its kind (first word, or the key of a leading `key=value`) and its fields. */
export interface GuestReportRecord {
  kind: string;
  fields: Record<string, string>;
  line: string;
}

/** A block device as the guest sees it. */
export interface GuestDisk {
  name: string;
  sizeBytes: number;
  readOnly: boolean;
  removable: boolean;
  type: "disk" | "cdrom";
  driver: string;
  serial: string;
}

/** A network interface as the guest sees it before DHCP. */
export interface GuestNic {
  name: string;
  mac: string;
  mtu: number;
  driver: string;
}

/** A DHCP lease the guest applied. */
export interface GuestAddress {
  iface: string;
  ip: string;
  prefix: number;
  routers: string[];
  dns: string[];
  domain: string;
  search: string[];
  mtu: number;
  leaseSeconds: number;
  server: string;
  event: string;
  uptimeMs: number;
  /** Time from starting the DHCP client to this lease. */
  dhcpMs: number;
}

/** A route the guest installed from a lease. */
export interface GuestRoute {
  iface: string;
  dst: string;
  via: string;
  ok: boolean;
}

/** Everything the guest reported, in structured form. */
export interface GuestReport {
  records: GuestReportRecord[];
  boot?: { kernel: string; hostname: string; id: string; build: string; uptimeMs: number };
  cpus?: number;
  memKb?: number;
  modules?: { loaded: number; failed: string[] };
  moduleFailures: { name: string; error: string }[];
  virtio: { name: string; device: string; driver: string }[];
  pvpanic: { driver: string; device: string }[];
  disks: GuestDisk[];
  nics: GuestNic[];
  addresses: GuestAddress[];
  routes: GuestRoute[];
  dhcp: { iface: string; event: string }[];
  rng?: { available: string[]; current: string };
  acpi?: { powerButton: boolean; handler: string };
  http?: { port: number; error?: string };
  writes: { dev: string; bytes: number; ok: boolean }[];
  reads: { dev: string; len: number; data: Buffer }[];
  ready: boolean;
  readyUptimeMs?: number;
  shell: boolean;
  panicTriggered: boolean;
  halted: boolean;
  initError?: number;
}

/** A report line that names a known kind but whose fields do not fit it. */
export class GuestReportError extends Error {
  readonly code = "GUEST_REPORT_INVALID";
  constructor(
    readonly line: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid guest report line (${path}): ${line}`, options);
    this.name = "GuestReportError";
  }
}

const int = z.coerce.number().int().nonnegative();
const flag = z.enum(["0", "1"]).transform((v) => v === "1");
const list = z.string().transform((v) => (v === "" ? [] : v.split(",")));

const schemas = {
  boot: z.object({
    kernel: z.string(),
    hostname: z.string(),
    id: z.string(),
    build: z.string(),
    uptime_ms: int,
  }),
  cpus: z.object({ cpus: int }),
  mem_kb: z.object({ mem_kb: int }),
  modules: z.object({ loaded: int, failed: list }),
  module_failed: z.object({ name: z.string(), error: z.string() }),
  virtio: z.object({ name: z.string(), device: z.string(), driver: z.string() }),
  pvpanic: z.object({ driver: z.string(), device: z.string() }),
  disk: z.object({
    name: z.string(),
    size_bytes: int,
    ro: flag,
    removable: flag,
    type: z.enum(["disk", "cdrom"]),
    driver: z.string(),
    serial: z.string(),
  }),
  nic: z.object({ name: z.string(), mac: z.string(), mtu: int, driver: z.string() }),
  addr: z.object({
    iface: z.string(),
    ip: z.string(),
    prefix: int,
    router: list,
    dns: list,
    domain: z.string(),
    search: list,
    mtu: int,
    lease_s: int,
    server: z.string(),
    event: z.string(),
    uptime_ms: int,
    dhcp_ms: int,
  }),
  route: z.object({ iface: z.string(), dst: z.string(), via: z.string(), ok: flag }),
  dhcp: z.object({ iface: z.string(), event: z.string() }),
  rng: z.object({ available: list, current: z.string() }),
  acpi: z.object({ power_button: flag, handler: z.string() }),
  http: z.object({ port: int, error: z.string().optional() }),
  write: z.object({ dev: z.string(), bytes: int, ok: flag }),
  read: z.object({ dev: z.string(), len: int, hex: z.string().regex(/^([0-9a-f]{2})*$/) }),
  ready: z.object({ uptime_ms: int.optional() }),
  init_error: z.object({ status: int }),
} as const;

type Kind = keyof typeof schemas;
type Fields<K extends Kind> = z.output<(typeof schemas)[K]>;

// Cursor moves, colour codes and SeaBIOS's terminal reset (ESC c) can precede a report on the
// same line, and carriage returns end every line of a tty.
// eslint-disable-next-line no-control-regex -- matching ESC is the point
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[0-Z\\-~])/g;
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Removes terminal escape sequences and control characters (keeps newlines and tabs). */
export function cleanConsoleText(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, "").replace(CONTROL, "");
}

function percentDecode(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Parses one console line; returns undefined for lines that are not report lines. */
export function parseGuestReportLine(rawLine: string): GuestReportRecord | undefined {
  // A report from a background script can land right after the shell's prompt ("vireo# ").
  const line = cleanConsoleText(rawLine)
    .trim()
    .replace(/^\S*[#$] +(?=VIREO-GUEST )/, "");
  if (!line.startsWith(`${GUEST_REPORT_PREFIX} `)) return undefined;
  const tokens = line.slice(GUEST_REPORT_PREFIX.length).trim().split(/\s+/);
  const first = tokens[0];
  if (first === undefined || first === "") return undefined;
  const fields: Record<string, string> = {};
  let kind = first;
  let rest = tokens.slice(1);
  const eq = first.indexOf("=");
  if (eq > 0) {
    kind = first.slice(0, eq);
    rest = tokens;
  }
  for (const token of rest) {
    const at = token.indexOf("=");
    if (at <= 0) continue;
    fields[token.slice(0, at)] = percentDecode(token.slice(at + 1));
  }
  return { kind, fields, line };
}

function fieldsOf<K extends Kind>(kind: K, record: GuestReportRecord): Fields<K> {
  const result = schemas[kind].safeParse(record.fields);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = [kind, ...(issue?.path ?? []).map(String)].join(".");
    throw new GuestReportError(record.line, path, { cause: result.error });
  }
  return result.data as Fields<K>;
}

function emptyReport(): GuestReport {
  return {
    records: [],
    moduleFailures: [],
    virtio: [],
    pvpanic: [],
    disks: [],
    nics: [],
    addresses: [],
    routes: [],
    dhcp: [],
    writes: [],
    reads: [],
    ready: false,
    shell: false,
    panicTriggered: false,
    halted: false,
  };
}

// One case per known kind; unknown kinds stay available in `records` only, so a newer guest
// does not break older tests.
function apply(report: GuestReport, record: GuestReportRecord): void {
  switch (record.kind) {
    case "boot": {
      const f = fieldsOf("boot", record);
      report.boot = {
        kernel: f.kernel,
        hostname: f.hostname,
        id: f.id,
        build: f.build,
        uptimeMs: f.uptime_ms,
      };
      break;
    }
    case "cpus":
      report.cpus = fieldsOf("cpus", record).cpus;
      break;
    case "mem_kb":
      report.memKb = fieldsOf("mem_kb", record).mem_kb;
      break;
    case "modules":
      report.modules = fieldsOf("modules", record);
      break;
    case "module_failed":
      report.moduleFailures.push(fieldsOf("module_failed", record));
      break;
    case "virtio":
      report.virtio.push(fieldsOf("virtio", record));
      break;
    case "pvpanic":
      report.pvpanic.push(fieldsOf("pvpanic", record));
      break;
    case "disk": {
      const f = fieldsOf("disk", record);
      report.disks.push({
        name: f.name,
        sizeBytes: f.size_bytes,
        readOnly: f.ro,
        removable: f.removable,
        type: f.type,
        driver: f.driver,
        serial: f.serial,
      });
      break;
    }
    case "nic":
      report.nics.push(fieldsOf("nic", record));
      break;
    case "addr": {
      const f = fieldsOf("addr", record);
      report.addresses.push({
        iface: f.iface,
        ip: f.ip,
        prefix: f.prefix,
        routers: f.router,
        dns: f.dns,
        domain: f.domain,
        search: f.search,
        mtu: f.mtu,
        leaseSeconds: f.lease_s,
        server: f.server,
        event: f.event,
        uptimeMs: f.uptime_ms,
        dhcpMs: f.dhcp_ms,
      });
      break;
    }
    case "route":
      report.routes.push(fieldsOf("route", record));
      break;
    case "dhcp":
      report.dhcp.push(fieldsOf("dhcp", record));
      break;
    case "rng":
      report.rng = fieldsOf("rng", record);
      break;
    case "acpi":
      // "acpi event=power-button ..." lines are events, not the setup fact.
      if (record.fields.power_button !== undefined) {
        const f = fieldsOf("acpi", record);
        report.acpi = { powerButton: f.power_button, handler: f.handler };
      }
      break;
    case "http": {
      const f = fieldsOf("http", record);
      report.http = f.error === undefined ? { port: f.port } : { port: f.port, error: f.error };
      break;
    }
    case "write":
      report.writes.push(fieldsOf("write", record));
      break;
    case "read": {
      const f = fieldsOf("read", record);
      report.reads.push({ dev: f.dev, len: f.len, data: Buffer.from(f.hex, "hex") });
      break;
    }
    case "ready": {
      report.ready = true;
      const uptime = fieldsOf("ready", record).uptime_ms;
      if (uptime !== undefined) report.readyUptimeMs = uptime;
      break;
    }
    case "shell":
      report.shell = true;
      break;
    case "panic":
      report.panicTriggered = true;
      break;
    case "halted":
      report.halted = true;
      break;
    case "init_error":
      report.initError = fieldsOf("init_error", record).status;
      break;
  }
}

/**
 * Turns console output (lines, or one string) into the guest's report. Pure: ignores lines without
 * the prefix, tolerates terminal noise, throws GuestReportError for malformed known lines.
 */
export function parseGuestReport(input: Iterable<string> | string): GuestReport {
  const lines = typeof input === "string" ? input.split("\n") : input;
  const report = emptyReport();
  for (const line of lines) {
    const record = parseGuestReportLine(line);
    if (record === undefined) continue;
    report.records.push(record);
    apply(report, record);
  }
  return report;
}
