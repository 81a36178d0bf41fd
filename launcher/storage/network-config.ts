import { stringify } from "yaml";
import type { LauncherConfig } from "../../crds/launcher/config.ts";

/** A cloud-init network-config version 2 document (netplan syntax), the part we generate. */
export interface NetworkConfigV2 {
  version: 2;
  ethernets: Record<string, { match: { macaddress: string }; dhcp4: boolean }>;
}

/**
 * The network-config the guest gets when the VM gives none: every NIC, found by its MAC (names inside the
 * guest are the guest's business), configured by DHCPv4, which every binding serves (the launcher's
 * in-process DHCP server for bridge, Multus and masquerade, passt's built-in one). `guestMacs` (NIC name →
 * MAC) are the MACs the network plan gave the guest where they differ from the configured ones: the bridge
 * binding hands the guest the pod interface's MAC. Pure.
 */
export function defaultNetworkConfigData(
  config: Pick<LauncherConfig, "interfaces">,
  guestMacs: Readonly<Record<string, string>> = {},
): NetworkConfigV2 {
  return {
    version: 2,
    ethernets: Object.fromEntries(
      config.interfaces.map((i) => [
        i.name,
        { match: { macaddress: guestMacs[i.name] ?? i.mac }, dhcp4: true },
      ]),
    ),
  };
}

/**
 * YAML for cloud-init, every string value double-quoted: cloud-init reads YAML 1.1, where an unquoted MAC
 * such as 52:54:00:12:34:56 is a base-60 integer and an unquoted uid of digits is a number.
 */
export function cloudInitYaml(value: unknown): string {
  return stringify(value, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}

/** {@link defaultNetworkConfigData} as the YAML text of a NoCloud `network-config` file. */
export function defaultNetworkConfig(
  config: Pick<LauncherConfig, "interfaces">,
  guestMacs: Readonly<Record<string, string>> = {},
): string {
  return cloudInitYaml(defaultNetworkConfigData(config, guestMacs));
}
