/**
 * The migration's target launcher pod, built from the source pod (same VM, same config, same volumes), pure:
 * a deterministic name (the API server refuses a second target for the same migration), the
 * `vireo.dev/migration` label, the launcher config marked `migration.incoming` (QEMU waits with
 * `-incoming defer`), and a node affinity away from the source node — or onto `spec.targetNode`.
 */
import type {
  V1Affinity,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
} from "@kubernetes/client-node";
import { ANNOTATION_LAUNCHER_CONFIG } from "../../crds/contract/metadata.ts";
import { ANNOTATION_MIGRATION_TARGET, LABEL_MIGRATION } from "../../crds/contract/migration.ts";

const HOSTNAME = "kubernetes.io/hostname";

/** The target pod's name for a migration (migration names are DNS-1123 names, so this is one too). */
export function targetPodName(migrationName: string): string {
  return `vireo-target-${migrationName}`;
}

/** Builds the target pod from the running source pod. Throws when the source has no launcher config. */
export function buildTargetPod(
  source: V1Pod,
  m: { name: string; sourceNode: string; targetNode?: string | undefined },
): V1Pod {
  const annotations: Record<string, string> = {
    ...source.metadata?.annotations,
    [ANNOTATION_MIGRATION_TARGET]: m.name,
  };
  const raw = annotations[ANNOTATION_LAUNCHER_CONFIG];
  if (raw === undefined) throw new Error(`pod ${source.metadata?.name} has no launcher config annotation`);
  annotations[ANNOTATION_LAUNCHER_CONFIG] = JSON.stringify({
    ...(JSON.parse(raw) as object),
    migration: { incoming: true },
  });
  const spec = structuredClone(source.spec!);
  delete spec.nodeName;
  spec.affinity = placed(
    spec.affinity,
    m.targetNode === undefined
      ? { key: HOSTNAME, operator: "NotIn", values: [m.sourceNode] }
      : { key: HOSTNAME, operator: "In", values: [m.targetNode] },
  );
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: targetPodName(m.name),
      namespace: source.metadata?.namespace,
      labels: { ...source.metadata?.labels, [LABEL_MIGRATION]: m.name },
      annotations,
      ownerReferences: source.metadata?.ownerReferences,
    },
    spec,
  };
}

/** ANDs `req` into every required node-selector term (terms are ORed, so each one must carry it). */
function placed(affinity: V1Affinity | undefined, req: V1NodeSelectorRequirement): V1Affinity {
  const required = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms: V1NodeSelectorTerm[] = required?.nodeSelectorTerms?.length ? required.nodeSelectorTerms : [{}];
  return {
    ...affinity,
    nodeAffinity: {
      ...affinity?.nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: terms.map((t) => ({
          ...t,
          matchExpressions: [...(t.matchExpressions ?? []), req],
        })),
      },
    },
  };
}
