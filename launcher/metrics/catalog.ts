import { METRIC_SOURCES, type MetricSource, type VmSnapshot } from "./collector.ts";
import type { BalloonStats, DriveStats } from "./qmp-replies.ts";
import { VM_STATES } from "./qmp-replies.ts";
import type { NicStats } from "./net-stats.ts";

/** Labels on every per-VM series: the VirtualMachine's namespace and name. */
export const VM_LABELS = ["namespace", "name"] as const;

/** One series of a metric: its labels besides {@link VM_LABELS}, and its value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A launcher metric: what it is, where it comes from, what KubeVirt calls it, and how to read it. */
export interface MetricSpec {
  name: string;
  type: "gauge" | "counter";
  help: string;
  /** Labels besides {@link VM_LABELS}. */
  labels: readonly string[];
  /** Base unit (`seconds`, `bytes`) or a plain count (`""`). */
  unit: "seconds" | "bytes" | "";
  /** What the value is collected from (documentation). */
  from: string;
  /** The nearest `kubevirt_vmi_*` metric, if any. */
  kubevirt?: string;
  samples(snapshot: VmSnapshot): Sample[];
}

const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ labels: {}, value }]);

function balloon(key: keyof BalloonStats) {
  return (s: VmSnapshot): Sample[] => one(s.memory?.stats?.[key]);
}

function nic(key: Exclude<keyof NicStats, "interface">) {
  return (s: VmSnapshot): Sample[] =>
    s.nics.map((n) => ({ labels: { interface: n.interface }, value: n[key] }));
}

function drive(key: Exclude<keyof DriveStats, "drive">) {
  return (s: VmSnapshot): Sample[] => s.drives.map((d) => ({ labels: { drive: d.drive }, value: d[key] }));
}

const TAP = "tap sysfs statistics, direction swapped (see docs/metrics.md); none for passt";

/** Every metric the launcher exports, in documentation order. */
export const VM_METRICS: readonly MetricSpec[] = [
  {
    name: "vireo_vm_info",
    type: "gauge",
    help: "Always 1; the labels describe the VM: machine type, firmware and the accelerator in use (kvm or tcg).",
    labels: ["machine", "firmware", "accelerator"],
    unit: "",
    from: "launcher config and the accelerator probe",
    kubevirt: "kubevirt_vmi_info",
    samples: ({ identity: i }) => [
      { labels: { machine: i.machine, firmware: i.firmware, accelerator: i.accelerator }, value: 1 },
    ],
  },
  {
    name: "vireo_vm_state",
    type: "gauge",
    help: `The guest's run state as a state set: 1 for the current state, 0 for the others. "stopped" means no QEMU process.`,
    labels: ["state"],
    unit: "",
    from: "QMP query-status",
    kubevirt: "kubevirt_vmi_info{phase}",
    samples: (s) =>
      s.state === undefined
        ? []
        : VM_STATES.map((state) => ({ labels: { state }, value: state === s.state ? 1 : 0 })),
  },
  {
    name: "vireo_vm_vcpu_seconds_total",
    type: "counter",
    help: "CPU time the host thread of each vCPU ran (user plus system).",
    labels: ["vcpu"],
    unit: "seconds",
    from: "QMP query-cpus-fast thread ids, /proc/<qemu>/task/<tid>/stat utime+stime",
    kubevirt: 'kubevirt_vmi_vcpu_seconds_total{state="running"}',
    samples: (s) => s.vcpus.map((v) => ({ labels: { vcpu: v.vcpu }, value: v.seconds })),
  },
  {
    name: "vireo_vm_cpu_usage_seconds_total",
    type: "counter",
    help: "CPU time of the whole QEMU process: vCPUs plus emulation and I/O threads.",
    labels: [],
    unit: "seconds",
    from: "/proc/<qemu>/stat utime+stime",
    kubevirt: "kubevirt_vmi_cpu_usage_seconds_total",
    samples: (s) => one(s.process?.totalSeconds),
  },
  {
    name: "vireo_vm_cpu_user_usage_seconds_total",
    type: "counter",
    help: "User-mode CPU time of the QEMU process.",
    labels: [],
    unit: "seconds",
    from: "/proc/<qemu>/stat utime",
    kubevirt: "kubevirt_vmi_cpu_user_usage_seconds_total",
    samples: (s) => one(s.process?.userSeconds),
  },
  {
    name: "vireo_vm_cpu_system_usage_seconds_total",
    type: "counter",
    help: "Kernel-mode CPU time of the QEMU process.",
    labels: [],
    unit: "seconds",
    from: "/proc/<qemu>/stat stime",
    kubevirt: "kubevirt_vmi_cpu_system_usage_seconds_total",
    samples: (s) => one(s.process?.systemSeconds),
  },
  {
    name: "vireo_vm_memory_resident_bytes",
    type: "gauge",
    help: "Resident set size of the QEMU process.",
    labels: [],
    unit: "bytes",
    from: "/proc/<qemu>/status VmRSS",
    kubevirt: "kubevirt_vmi_memory_resident_bytes",
    samples: (s) => one(s.process?.residentBytes),
  },
  {
    name: "vireo_vm_memory_domain_bytes",
    type: "gauge",
    help: "Guest RAM given to QEMU (boot memory plus hot-plugged memory).",
    labels: [],
    unit: "bytes",
    from: "QMP query-memory-size-summary",
    kubevirt: "kubevirt_vmi_memory_domain_bytes",
    samples: (s) => one(s.memory?.domainBytes),
  },
  {
    name: "vireo_vm_memory_actual_balloon_bytes",
    type: "gauge",
    help: "Current balloon size: the memory the guest may use now.",
    labels: [],
    unit: "bytes",
    from: "QMP query-balloon",
    kubevirt: "kubevirt_vmi_memory_actual_balloon_bytes",
    samples: (s) => one(s.memory?.actualBalloonBytes),
  },
  {
    name: "vireo_vm_memory_available_bytes",
    type: "gauge",
    help: "Memory the guest OS sees in total (MemTotal), as its balloon driver reports it.",
    labels: [],
    unit: "bytes",
    from: "balloon guest-stats stat-total-memory",
    kubevirt: "kubevirt_vmi_memory_available_bytes",
    samples: balloon("availableBytes"),
  },
  {
    name: "vireo_vm_memory_unused_bytes",
    type: "gauge",
    help: "Memory the guest leaves completely unused (MemFree), as its balloon driver reports it.",
    labels: [],
    unit: "bytes",
    from: "balloon guest-stats stat-free-memory",
    kubevirt: "kubevirt_vmi_memory_unused_bytes",
    samples: balloon("unusedBytes"),
  },
  {
    name: "vireo_vm_memory_usable_bytes",
    type: "gauge",
    help: "Memory the guest can use without swapping (MemAvailable), as its balloon driver reports it.",
    labels: [],
    unit: "bytes",
    from: "balloon guest-stats stat-available-memory",
    kubevirt: "kubevirt_vmi_memory_usable_bytes",
    samples: balloon("usableBytes"),
  },
  {
    name: "vireo_vm_memory_cached_bytes",
    type: "gauge",
    help: "Guest page cache that can be reclaimed, as its balloon driver reports it.",
    labels: [],
    unit: "bytes",
    from: "balloon guest-stats stat-disk-caches",
    kubevirt: "kubevirt_vmi_memory_cached_bytes",
    samples: balloon("cachedBytes"),
  },
  {
    name: "vireo_vm_memory_pgmajfault_total",
    type: "counter",
    help: "Major page faults in the guest (faults that needed disk I/O).",
    labels: [],
    unit: "",
    from: "balloon guest-stats stat-major-faults",
    kubevirt: "kubevirt_vmi_memory_pgmajfault_total",
    samples: balloon("majorFaults"),
  },
  {
    name: "vireo_vm_memory_pgminfault_total",
    type: "counter",
    help: "Minor page faults in the guest (faults served without disk I/O).",
    labels: [],
    unit: "",
    from: "balloon guest-stats stat-minor-faults",
    kubevirt: "kubevirt_vmi_memory_pgminfault_total",
    samples: balloon("minorFaults"),
  },
  {
    name: "vireo_vm_memory_swap_in_traffic_bytes_total",
    type: "counter",
    help: "Data the guest read back from its swap.",
    labels: [],
    unit: "bytes",
    from: "balloon guest-stats stat-swap-in",
    kubevirt: "kubevirt_vmi_memory_swap_in_traffic_bytes",
    samples: balloon("swapInBytes"),
  },
  {
    name: "vireo_vm_memory_swap_out_traffic_bytes_total",
    type: "counter",
    help: "Data the guest wrote out to its swap.",
    labels: [],
    unit: "bytes",
    from: "balloon guest-stats stat-swap-out",
    kubevirt: "kubevirt_vmi_memory_swap_out_traffic_bytes",
    samples: balloon("swapOutBytes"),
  },
  {
    name: "vireo_vm_network_receive_bytes_total",
    type: "counter",
    help: "Bytes the guest received on the interface.",
    labels: ["interface"],
    unit: "bytes",
    from: `${TAP}: tap tx_bytes`,
    kubevirt: "kubevirt_vmi_network_receive_bytes_total",
    samples: nic("receiveBytes"),
  },
  {
    name: "vireo_vm_network_receive_packets_total",
    type: "counter",
    help: "Packets the guest received on the interface.",
    labels: ["interface"],
    unit: "",
    from: `${TAP}: tap tx_packets`,
    kubevirt: "kubevirt_vmi_network_receive_packets_total",
    samples: nic("receivePackets"),
  },
  {
    name: "vireo_vm_network_receive_errors_total",
    type: "counter",
    help: "Receive errors on the interface.",
    labels: ["interface"],
    unit: "",
    from: `${TAP}: tap tx_errors`,
    kubevirt: "kubevirt_vmi_network_receive_errors_total",
    samples: nic("receiveErrors"),
  },
  {
    name: "vireo_vm_network_receive_packets_dropped_total",
    type: "counter",
    help: "Packets for the guest dropped before it received them.",
    labels: ["interface"],
    unit: "",
    from: `${TAP}: tap tx_dropped`,
    kubevirt: "kubevirt_vmi_network_receive_packets_dropped_total",
    samples: nic("receiveDropped"),
  },
  {
    name: "vireo_vm_network_transmit_bytes_total",
    type: "counter",
    help: "Bytes the guest transmitted on the interface.",
    labels: ["interface"],
    unit: "bytes",
    from: `${TAP}: tap rx_bytes`,
    kubevirt: "kubevirt_vmi_network_transmit_bytes_total",
    samples: nic("transmitBytes"),
  },
  {
    name: "vireo_vm_network_transmit_packets_total",
    type: "counter",
    help: "Packets the guest transmitted on the interface.",
    labels: ["interface"],
    unit: "",
    from: `${TAP}: tap rx_packets`,
    kubevirt: "kubevirt_vmi_network_transmit_packets_total",
    samples: nic("transmitPackets"),
  },
  {
    name: "vireo_vm_network_transmit_errors_total",
    type: "counter",
    help: "Transmit errors on the interface.",
    labels: ["interface"],
    unit: "",
    from: `${TAP}: tap rx_errors`,
    kubevirt: "kubevirt_vmi_network_transmit_errors_total",
    samples: nic("transmitErrors"),
  },
  {
    name: "vireo_vm_network_transmit_packets_dropped_total",
    type: "counter",
    help: "Packets the guest sent that the host dropped.",
    labels: ["interface"],
    unit: "",
    from: `${TAP}: tap rx_dropped`,
    kubevirt: "kubevirt_vmi_network_transmit_packets_dropped_total",
    samples: nic("transmitDropped"),
  },
  {
    name: "vireo_vm_storage_read_traffic_bytes_total",
    type: "counter",
    help: "Bytes the guest read from the disk.",
    labels: ["drive"],
    unit: "bytes",
    from: "QMP query-blockstats rd_bytes",
    kubevirt: "kubevirt_vmi_storage_read_traffic_bytes_total",
    samples: drive("readBytes"),
  },
  {
    name: "vireo_vm_storage_write_traffic_bytes_total",
    type: "counter",
    help: "Bytes the guest wrote to the disk.",
    labels: ["drive"],
    unit: "bytes",
    from: "QMP query-blockstats wr_bytes",
    kubevirt: "kubevirt_vmi_storage_write_traffic_bytes_total",
    samples: drive("writeBytes"),
  },
  {
    name: "vireo_vm_storage_iops_read_total",
    type: "counter",
    help: "Read requests the guest issued to the disk.",
    labels: ["drive"],
    unit: "",
    from: "QMP query-blockstats rd_operations",
    kubevirt: "kubevirt_vmi_storage_iops_read_total",
    samples: drive("readOps"),
  },
  {
    name: "vireo_vm_storage_iops_write_total",
    type: "counter",
    help: "Write requests the guest issued to the disk.",
    labels: ["drive"],
    unit: "",
    from: "QMP query-blockstats wr_operations",
    kubevirt: "kubevirt_vmi_storage_iops_write_total",
    samples: drive("writeOps"),
  },
  {
    name: "vireo_vm_storage_read_times_seconds_total",
    type: "counter",
    help: "Time the disk's read requests took, summed over requests.",
    labels: ["drive"],
    unit: "seconds",
    from: "QMP query-blockstats rd_total_time_ns",
    kubevirt: "kubevirt_vmi_storage_read_times_seconds_total",
    samples: drive("readSeconds"),
  },
  {
    name: "vireo_vm_storage_write_times_seconds_total",
    type: "counter",
    help: "Time the disk's write requests took, summed over requests.",
    labels: ["drive"],
    unit: "seconds",
    from: "QMP query-blockstats wr_total_time_ns",
    kubevirt: "kubevirt_vmi_storage_write_times_seconds_total",
    samples: drive("writeSeconds"),
  },
  {
    name: "vireo_vm_storage_flush_requests_total",
    type: "counter",
    help: "Flush requests the guest issued to the disk.",
    labels: ["drive"],
    unit: "",
    from: "QMP query-blockstats flush_operations",
    kubevirt: "kubevirt_vmi_storage_flush_requests_total",
    samples: drive("flushOps"),
  },
  {
    name: "vireo_vm_storage_flush_times_seconds_total",
    type: "counter",
    help: "Time the disk's flush requests took, summed over requests.",
    labels: ["drive"],
    unit: "seconds",
    from: "QMP query-blockstats flush_total_time_ns",
    kubevirt: "kubevirt_vmi_storage_flush_times_seconds_total",
    samples: drive("flushSeconds"),
  },
  {
    name: "vireo_vm_storage_failed_operations_total",
    type: "counter",
    help: "Disk requests that failed with an I/O error, by operation (read, write, flush).",
    labels: ["drive", "operation"],
    unit: "",
    from: "QMP query-blockstats failed_{rd,wr,flush}_operations",
    samples: (s) =>
      s.drives.flatMap((d) => [
        { labels: { drive: d.drive, operation: "read" }, value: d.failedReadOps },
        { labels: { drive: d.drive, operation: "write" }, value: d.failedWriteOps },
        { labels: { drive: d.drive, operation: "flush" }, value: d.failedFlushOps },
      ]),
  },
  {
    name: "vireo_vm_scrape_errors_total",
    type: "counter",
    help: "Collections of a metric source that failed or missed the deadline; its series then show the last known values.",
    labels: ["source"],
    unit: "",
    from: "the launcher's collector",
    samples: (s) => METRIC_SOURCES.map((source) => ({ labels: { source }, value: s.errors[source] })),
  },
  {
    name: "vireo_vm_scrape_last_success_timestamp_seconds",
    type: "gauge",
    help: "When a metric source was last collected successfully (Unix time).",
    labels: ["source"],
    unit: "seconds",
    from: "the launcher's collector",
    samples: (s) =>
      METRIC_SOURCES.flatMap((source: MetricSource) => {
        const at = s.lastSuccess[source];
        return at === undefined ? [] : [{ labels: { source }, value: at }];
      }),
  },
];

/** The names of every launcher metric. */
export const VM_METRIC_NAMES: readonly string[] = VM_METRICS.map((m) => m.name);
