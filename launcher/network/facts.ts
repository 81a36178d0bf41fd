/**
 * What the network-setup step reads from the pod's network namespace before it changes anything: the
 * interfaces with their addresses, the routes, resolv.conf and Multus' network-status annotation.
 * Planning takes these as plain data so it stays pure.
 */
import { z } from "zod";

const family = z.union([z.literal(4), z.literal(6)]);
const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "must be a lower-case MAC address");

/** An address on a pod interface. */
export const podAddressSchema = z
  .object({ family, address: z.string().min(1), prefixLength: z.int().min(0).max(128) })
  .strict();

/** A network interface of the pod (eth0 from the CNI, net1… from Multus). */
export const podInterfaceSchema = z
  .object({
    name: z.string().min(1).max(15),
    mac,
    mtu: z.int().min(68),
    /** Global-scope addresses only; link-local ones are not the pod's to hand over. */
    addresses: z.array(podAddressSchema),
  })
  .strict();

/** A route of the pod's main table. `dst` is `default` or a CIDR (host routes as `/32` or `/128`). */
export const podRouteSchema = z
  .object({
    family,
    dst: z.string().min(1),
    gateway: z.string().optional(),
    dev: z.string().optional(),
    scope: z.string().optional(),
  })
  .strict();

/** Name resolution from the pod's resolv.conf. */
export const podDnsSchema = z
  .object({ nameservers: z.array(z.string()), searches: z.array(z.string()) })
  .strict();

/** One entry of Multus' `k8s.v1.cni.cncf.io/network-status` annotation (unknown fields are dropped). */
export const networkStatusEntrySchema = z.object({
  name: z.string().min(1),
  interface: z.string().optional(),
  ips: z.array(z.string()).optional(),
  mac: z.string().optional(),
  default: z.boolean().optional(),
  dns: z
    .object({
      nameservers: z.array(z.string()).optional(),
      domain: z.string().optional(),
      search: z.array(z.string()).optional(),
    })
    .optional(),
});

/** The facts of one pod network namespace. */
export const podFactsSchema = z
  .object({
    interfaces: z.array(podInterfaceSchema),
    routes: z.array(podRouteSchema),
    dns: podDnsSchema,
    networkStatus: z.array(networkStatusEntrySchema).optional(),
  })
  .strict();

/** An address on a pod interface. */
export type PodAddress = z.infer<typeof podAddressSchema>;
/** A network interface of the pod. */
export type PodInterface = z.infer<typeof podInterfaceSchema>;
/** A route of the pod's main table. */
export type PodRoute = z.infer<typeof podRouteSchema>;
/** Name resolution from the pod's resolv.conf. */
export type PodDns = z.infer<typeof podDnsSchema>;
/** One entry of the Multus network-status annotation. */
export type NetworkStatusEntry = z.infer<typeof networkStatusEntrySchema>;
/** The facts of one pod network namespace. */
export type PodFacts = z.infer<typeof podFactsSchema>;

/** Reads nameservers and the search list from resolv.conf text (`search` wins over `domain`, as in libc). */
export function parseResolvConf(text: string): PodDns {
  const nameservers: string[] = [];
  let searches: string[] = [];
  for (const raw of text.split("\n")) {
    const [key, ...values] = raw
      .replace(/[#;].*$/, "")
      .trim()
      .split(/\s+/);
    if (key === "nameserver" && values[0]) nameservers.push(values[0]);
    else if (key === "search") searches = values.filter(Boolean);
    else if (key === "domain" && values[0]) searches = [values[0]];
  }
  return { nameservers, searches };
}

/**
 * Parses the network-status annotation as the downward API writes it into a file: the raw JSON value.
 * Throws a ZodError or SyntaxError on malformed input; callers wrap it.
 */
export function parseNetworkStatus(text: string): NetworkStatusEntry[] {
  return z.array(networkStatusEntrySchema).parse(JSON.parse(text));
}
