/**
 * The network plan: everything the launcher will do to the pod's network namespace and run for the
 * guest, as data. `planNetwork` computes it purely; the executor applies `steps`; `startNetwork` serves
 * `dhcp` and starts passt for `passt`; the QEMU argv builder gets `nics`.
 */
import { z } from "zod";

const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);

/** One idempotent change to the pod's network namespace; the executor applies only what differs. */
export const hostStepSchema = z.discriminatedUnion("op", [
  /**
   * A namespaced sysctl. `atMost` lowers the value when it is higher (ip_unprivileged_port_start), `exact`
   * sets it. Required ones are set before any link changes (so they must not name a link the plan
   * creates) and their failure is an error; an optional one that cannot be set (a container's /proc/sys
   * is read-only) costs only the feature it serves and becomes a warning.
   */
  z
    .object({
      op: z.literal("sysctl"),
      key: z.string(),
      value: z.int(),
      mode: z.enum(["atMost", "exact"]),
      optional: z.boolean().optional(),
      /** What it is for ("for …"), in the error or warning. */
      purpose: z.string(),
    })
    .strict(),
  /** A Linux bridge with a fixed MAC (the bridge must never carry the guest's MAC). */
  z.object({ op: z.literal("bridge"), name: z.string().max(15), mac }).strict(),
  /** A persistent tap owned by the launcher's uid/gid, so QEMU opens it without privileges. */
  z
    .object({
      op: z.literal("tap"),
      name: z.string().max(15),
      uid: z.int().min(0),
      gid: z.int().min(0),
    })
    .strict(),
  /** Attributes of an existing link, applied in the order mac, mtu, master, learning, up. */
  z
    .object({
      op: z.literal("link"),
      dev: z.string(),
      mac: mac.optional(),
      mtu: z.int().optional(),
      master: z.string().optional(),
      learning: z.boolean().optional(),
      up: z.boolean().optional(),
    })
    .strict(),
  /** An address that must be present on, or absent from, a link. */
  z.object({ op: z.literal("addr"), dev: z.string(), cidr: z.string(), present: z.boolean() }).strict(),
  /** An on-link route in the main table. */
  z.object({ op: z.literal("route"), dst: z.string(), dev: z.string() }).strict(),
  /** A permanent neighbour entry: lets the unprivileged DHCP server unicast to a client without an address. */
  z.object({ op: z.literal("neigh"), dev: z.string(), address: z.string(), mac }).strict(),
  /** An nftables table, replaced atomically when its digest differs. */
  z
    .object({
      op: z.literal("nftables"),
      family: z.enum(["ip", "ip6", "bridge", "netdev"]),
      table: z.string(),
      digest: z.string(),
      ruleset: z.string(),
    })
    .strict(),
]);

/** A static DHCP lease the launcher's DHCP server hands one guest NIC, with the options it carries. */
export const dhcpLeaseSchema = z
  .object({
    /** The host interface the guest is behind (the bridge), for logs. */
    interface: z.string(),
    /** Address that lives on the bridge: the DHCP server identifier and the replies' source. */
    serverAddress: z.string(),
    mac,
    ip: z.string(),
    prefixLength: z.int().min(0).max(32),
    /** Default gateway (option 3); absent sends an empty router option, i.e. none. */
    router: z.string().optional(),
    /** Classless static routes (option 121), on-link routes (via 0.0.0.0) first. */
    routes: z.array(z.object({ dst: z.string(), via: z.string() }).strict()),
    dns: z.array(z.string()),
    search: z.array(z.string()),
    mtu: z.int(),
    hostname: z.string().optional(),
  })
  .strict();

/** A passt instance for one NIC. */
export const passtPlanSchema = z
  .object({
    nic: z.string(),
    socketPath: z.string(),
    podInterface: z.string(),
    /** passt `-t`/`-u` specs: a port list, or `~N,…` (all but these). */
    tcpPorts: z.string(),
    udpPorts: z.string(),
    /** Name resolution passt announces by DHCP (from the pod's resolv.conf, as for the other bindings). */
    dns: z.array(z.string()),
    search: z.array(z.string()),
  })
  .strict();

/**
 * A TCP port the launcher splices from 127.0.0.1 inside the pod to the bridge-bound guest, so that
 * `kubectl port-forward` (which dials 127.0.0.1 in the pod's namespace) reaches a guest that owns the pod IP.
 */
export const splicePlanSchema = z
  .object({
    nic: z.string(),
    port: z.int().min(1).max(65535),
    /** The guest's address and the bridge address the launcher connects from (the guest answers it). */
    guestIp: z.string(),
    sourceIp: z.string(),
  })
  .strict();

/** A guest NIC as planned (the launcher turns it into a `PreparedNic`). */
export const plannedNicSchema = z
  .object({
    name: z.string(),
    binding: z.enum(["bridge", "masquerade", "passt"]),
    model: z.enum(["virtio", "e1000e", "rtl8139"]),
    /** The MAC the guest NIC gets (bridge: the pod interface's original MAC). */
    mac,
    /** Guest MTU; absent leaves it to the backend (passt announces its own). */
    mtu: z.int().optional(),
    bootOrder: z.int().optional(),
    backend: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("tap"), ifname: z.string(), bridge: z.string() }).strict(),
      z.object({ kind: z.literal("passt"), socketPath: z.string() }).strict(),
    ]),
    /** The pod interface the NIC is connected to. */
    podInterface: z.string(),
    /** Addresses the guest is expected to get (for status); empty when the guest configures itself. */
    guestIps: z.array(z.string()),
  })
  .strict();

/** The complete network plan of one launcher pod. */
export const netPlanSchema = z
  .object({
    version: z.literal(1),
    steps: z.array(hostStepSchema),
    nics: z.array(plannedNicSchema),
    dhcp: z
      .object({ leases: z.array(dhcpLeaseSchema) })
      .strict()
      .optional(),
    passt: z.array(passtPlanSchema),
    /** Absent in plans recorded before splices existed: none. */
    splices: z.array(splicePlanSchema).optional(),
    warnings: z.array(z.string()),
  })
  .strict();

/** One idempotent change to the pod's network namespace. */
export type HostStep = z.infer<typeof hostStepSchema>;
/** A static DHCP lease with its options. */
export type DhcpLease = z.infer<typeof dhcpLeaseSchema>;
/** A passt instance for one NIC. */
export type PasstPlan = z.infer<typeof passtPlanSchema>;
/** A port spliced from the pod's 127.0.0.1 to a bridge-bound guest. */
export type SplicePlan = z.infer<typeof splicePlanSchema>;
/** A guest NIC as planned. */
export type PlannedNic = z.infer<typeof plannedNicSchema>;
/** The complete network plan of one launcher pod. */
export type NetPlan = z.infer<typeof netPlanSchema>;
