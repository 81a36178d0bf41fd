/**
 * `vireo migrate`'s decisions, pure: the VirtualMachineMigration it creates for a VM, and which migration
 * `--cancel` cancels (the VM's one that is not final; none or two is an error the user can act on).
 */
import {
  FINAL_MIGRATION_PHASES,
  MIGRATION_API_VERSION,
  MIGRATION_KIND,
  type VirtualMachineMigration,
} from "../../crds/api/migration.ts";

/** A migration request for `vm` (to `toNode` when given). `generateName`: each request is a new object. */
export function migrationFor(vm: string, namespace: string, toNode?: string): VirtualMachineMigration {
  return {
    apiVersion: MIGRATION_API_VERSION,
    kind: MIGRATION_KIND,
    metadata: { generateName: `${vm.slice(0, 50)}-migration-`, namespace, labels: { "vireo.dev/vm": vm } },
    spec: { vmName: vm, ...(toNode !== undefined ? { targetNode: toNode } : {}) },
  };
}

/** Why `--cancel` cannot pick a migration. */
export class NothingToCancel extends Error {
  readonly code = "NOTHING_TO_CANCEL";
}

/** The VM's migration that `--cancel` cancels: the one not yet in a final phase. */
export function migrationToCancel(
  vm: string,
  list: readonly VirtualMachineMigration[],
): VirtualMachineMigration {
  const active = list.filter(
    (m) => m.spec.vmName === vm && !FINAL_MIGRATION_PHASES.includes(m.status?.phase ?? "Pending"),
  );
  if (active.length === 0) throw new NothingToCancel(`VM ${vm} has no migration in progress`);
  if (active.length > 1)
    throw new NothingToCancel(
      `VM ${vm} has ${active.length} migrations in progress (${active.map((m) => m.metadata.name).join(", ")}); cancel one with kubectl patch`,
    );
  return active[0]!;
}
