import { z } from "zod";
import { cel, listMap } from "./k8s-meta.ts";
import { localName } from "./names.ts";
import { celOf, celRulesOf, exactlyOneRule, type Rule } from "./rule.ts";

/** Unicast, locally or globally administered MAC in colon notation. */
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** A port forwarded from the pod into the guest (masquerade and passt bindings). */
export const portSchema = z
  .object({
    name: z
      .string()
      .max(15, "must be at most 15 characters")
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be an IANA service name")
      .optional(),
    port: z.int().min(1, "port must be between 1 and 65535").max(65535, "port must be between 1 and 65535"),
    protocol: z.enum(["TCP", "UDP"]).default("TCP"),
  })
  .strict();

/** How a guest NIC is connected to the pod network. */
export const BINDINGS = ["bridge", "masquerade", "passt"] as const;

/**
 * A NIC's cross-field rule: a bridge exposes every port at the pod IP; the ports it lists are spliced from
 * 127.0.0.1 in the pod (port-forward), which carries TCP only.
 */
export const INTERFACE_RULES: Rule<{
  binding?: string | undefined;
  ports?: { protocol?: string | undefined }[] | undefined;
}>[] = [
  {
    id: "bridge-ports-tcp-only",
    cel: [
      {
        rule: "!has(self.ports) || !has(self.binding) || self.binding != 'bridge' || self.ports.all(p, !has(p.protocol) || p.protocol == 'TCP')",
        message:
          "with the bridge binding every port reaches the guest at the pod IP; listed ports are for port-forward (127.0.0.1 in the pod), which carries TCP only",
        fieldPath: ".ports",
        reason: "FieldValueForbidden",
      },
    ],
    check(iface, report) {
      if (
        iface.ports &&
        iface.binding === "bridge" &&
        iface.ports.some((p) => (p.protocol ?? "TCP") !== "TCP")
      )
        report(
          ["ports"],
          "with the bridge binding, listed ports are for port-forward, which carries TCP only",
        );
    },
  },
];

/** A guest NIC. Its `name` matches a network. */
export const interfaceSchema = z
  .object({
    name: localName().describe("Interface name; a network of the same name connects it."),
    binding: z
      .enum(BINDINGS)
      .optional()
      .describe(
        "bridge, masquerade or passt for the pod network (default: the cluster's default binding); secondary networks always bridge.",
      ),
    macAddress: z
      .string()
      .max(17, "must be a MAC address like 02:00:00:aa:bb:cc")
      .regex(MAC_PATTERN, "must be a MAC address like 02:00:00:aa:bb:cc")
      .refine(
        (m) => (parseInt(m.slice(0, 2), 16) & 1) === 0,
        "must be a unicast MAC address (first octet even)",
      )
      .optional()
      .describe("Guest MAC; derived stably from the VM and interface when omitted."),
    model: z.enum(["virtio", "e1000e", "rtl8139"]).default("virtio").describe("NIC model."),
    ports: z
      .array(portSchema)
      .max(64, "at most 64 ports")
      .optional()
      .meta(listMap("port", "protocol"))
      .describe("Ports forwarded into the guest (masquerade, passt); all ports when omitted."),
    bootOrder: z.int().min(1).max(100).optional().describe("PXE boot priority."),
  })
  .strict()
  .meta(
    cel(...celRulesOf(INTERFACE_RULES), {
      // The first octet's low bit is the multicast bit: its second hex digit must be even.
      rule: "!has(self.macAddress) || self.macAddress.matches('^[0-9A-Fa-f][02468AaCcEe]')",
      message: "must be a unicast MAC address (first octet even)",
      fieldPath: ".macAddress",
    }),
  );

const CIDR4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(\d|[12]\d|3[0-2])$/;

/** A network's rule: the pod network or a Multus one. */
export const NETWORK_RULES: Rule<object>[] = [
  exactlyOneRule(
    "network-one-kind",
    ["pod", "multus"],
    "a network",
    "a network must set exactly one of pod or multus",
  ),
];

/** A network the VM attaches to: the pod network or a Multus network. */
export const networkSchema = z
  .object({
    name: localName(),
    pod: z
      .object({
        vmNetworkCIDR: z
          .string()
          .max(18, "must be an IPv4 CIDR like 10.0.2.0/24")
          .regex(CIDR4, "must be an IPv4 CIDR like 10.0.2.0/24")
          .refine(
            (c) => Number(c.split("/")[1]) <= 30,
            "must leave room for a gateway and a guest (prefix /30 or shorter)",
          )
          .optional()
          .describe("Private guest subnet for the masquerade binding (default 10.0.2.0/24)."),
      })
      .strict()
      .meta(
        cel({
          rule: "!has(self.vmNetworkCIDR) || !self.vmNetworkCIDR.matches('/3[12]$')",
          message: "vmNetworkCIDR must leave room for a gateway and a guest (prefix /30 or shorter)",
          fieldPath: ".vmNetworkCIDR",
        }),
      )
      .optional()
      .describe("The pod's own network."),
    multus: z
      .object({
        networkName: z
          .string()
          .regex(
            /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
            "must be a NetworkAttachmentDefinition name, optionally namespace/name",
          ),
      })
      .strict()
      .optional()
      .describe("A secondary network from a Multus NetworkAttachmentDefinition."),
  })
  .strict()
  .meta(celOf(NETWORK_RULES));
