/**
 * Which of a VM's pods the VM reconciler treats as the VM's, with migrations in flight. Pure. A migration
 * target (annotation vireo.dev/migration-target) is not the VM's while the VM's current pod runs: the
 * migration controller owns it, and the reconciler's "one launcher pod" rule must not delete either. Once
 * the current pod has handed its guest over (it ended with a `migrated:` termination message) it is no longer
 * the VM's — the migration controller deletes it after recording the result — and the target is.
 */

/** The parts of a pod view this reads. */
export interface AdoptionPod {
  name: string;
  phase: string;
  migrationTarget?: string | undefined;
  termination?: { message?: string | undefined } | undefined;
}

/** Whether a pod ended by handing its guest to a migration target. */
export function migratedAway(p: AdoptionPod): boolean {
  return p.phase === "Succeeded" && (p.termination?.message ?? "").startsWith("migrated:");
}

/** The pods the VM reconciler decides over, given the pod the VM's status names (`current`). */
export function vmPodsOf<P extends AdoptionPod>(pods: readonly P[], current: string | undefined): P[] {
  const cur = pods.find((p) => p.name === current);
  if (cur && !migratedAway(cur)) return pods.filter((p) => p === cur || p.migrationTarget === undefined);
  if (cur) return pods.filter((p) => p !== cur);
  // No current pod (first start, or it is gone): targets still in flight wait while a plain pod lives.
  const plain = pods.filter((p) => p.migrationTarget === undefined && !migratedAway(p));
  return plain.length ? plain : pods.filter((p) => !migratedAway(p));
}
