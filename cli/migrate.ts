/**
 * `vireo migrate VM [--to-node N]` creates a VirtualMachineMigration for the VM; `vireo migrate --cancel VM`
 * sets `spec.cancel` on its migration in progress (the VM keeps running where it is).
 */
import { parseArgs } from "node:util";
import { GROUP, VERSION } from "../crds/contract/metadata.ts";
import { MIGRATION_PLURAL, type VirtualMachineMigration } from "../crds/api/migration.ts";
import { PATCH } from "../lib/kube/client.ts";
import { resourcePath } from "../lib/kube/paths.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { FIELD_MANAGER, loadTarget, VmClient } from "./cluster/kube.ts";
import { migrationFor, migrationToCancel, NothingToCancel } from "./migrate/plan.ts";

const HELP = `usage: vireo migrate VM [--to-node NODE] [options]
       vireo migrate --cancel VM [options]

Live-migrates a running VM to another node (docs/migration.md): creates a VirtualMachineMigration, which
the operator carries out; watch it with kubectl get vmigration. --cancel cancels the VM's migration in
progress; the VM keeps running on its node.

Options:
      --to-node NODE        the node to migrate to (default: any node but the VM's)
      --cancel              cancel the VM's migration in progress
  -n, --namespace NS        namespace (default: the kubeconfig context's, else "default")
      --kubeconfig FILE     kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context NAME        kubeconfig context (default: the current context)
  -h, --help                this help`;

const TYPE = { group: GROUP, version: VERSION, plural: MIGRATION_PLURAL };

/** `vireo migrate ...`. */
export async function migrateCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        "to-node": { type: "string" },
        cancel: { type: "boolean" },
        namespace: { type: "string", short: "n" },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`vireo migrate: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) return (console.log(HELP), 0);
  if (positionals.length !== 1 || (values.cancel && values["to-node"] !== undefined)) {
    console.error(`vireo migrate: name one VM (and --to-node or --cancel, not both)\n\n${HELP}`);
    return 2;
  }
  const vm = positionals[0]!;
  try {
    const target = loadTarget(values);
    const client = new VmClient(target.kubeConfig);
    const ns = target.namespace;
    await client.getVm(ns, vm);
    if (values.cancel) {
      const list = await client.request<{ items: VirtualMachineMigration[] }>(
        "list VirtualMachineMigrations",
        "GET",
        resourcePath(TYPE, ns),
      );
      const m = migrationToCancel(vm, list.items);
      const name = m.metadata.name!;
      await client.request(`cancel migration ${name}`, "PATCH", resourcePath(TYPE, ns, name), {
        body: { spec: { cancel: true } },
        contentType: PATCH.merge,
        query: { fieldManager: FIELD_MANAGER },
      });
      console.log(`virtualmachinemigration/${name} cancel requested; VM ${vm} stays on its node`);
      return 0;
    }
    const created = await client.request<VirtualMachineMigration>(
      `migrate VM ${vm}`,
      "POST",
      resourcePath(TYPE, ns),
      {
        body: migrationFor(vm, ns, values["to-node"]),
        query: { fieldManager: FIELD_MANAGER },
      },
    );
    console.log(
      `virtualmachinemigration/${created.metadata.name} created: VM ${vm}${values["to-node"] ? ` → ${values["to-node"]}` : ""}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof NothingToCancel || err instanceof ClusterCliError) {
      console.error(`vireo migrate: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
