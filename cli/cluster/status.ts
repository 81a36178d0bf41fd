/** `vireo status [VM]`: a table of VMs, or one VM in detail, or the objects as YAML/JSON. */
import { stringify } from "yaml";
import type { ClusterArgs } from "./args.ts";
import type { VmClient } from "./kube.ts";
import { formatVmDetail, formatVmTable } from "./status-format.ts";

/** Returns the text to print (and an empty-list note for stderr). */
export async function vmStatus(
  client: VmClient,
  args: ClusterArgs,
  namespace: string,
): Promise<{ out: string; note?: string }> {
  const now = new Date();
  if (args.vm !== undefined) {
    const vm = await client.getVm(namespace, args.vm);
    if (args.output === "json") return { out: JSON.stringify(vm, null, 2) };
    if (args.output === "yaml") return { out: stringify(vm).trimEnd() };
    return { out: formatVmDetail(vm, now) };
  }
  const vms = await client.listVms(args.allNamespaces ? undefined : namespace);
  if (args.output === "json")
    return { out: JSON.stringify({ apiVersion: "v1", kind: "List", items: vms }, null, 2) };
  if (args.output === "yaml")
    return { out: stringify({ apiVersion: "v1", kind: "List", items: vms }).trimEnd() };
  if (vms.length === 0)
    return {
      out: "",
      note: args.allNamespaces
        ? "No VirtualMachines found."
        : `No VirtualMachines found in namespace ${namespace}.`,
    };
  return {
    out: formatVmTable(vms, { now, wide: args.output === "wide", allNamespaces: args.allNamespaces }),
  };
}
