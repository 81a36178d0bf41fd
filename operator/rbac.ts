/**
 * What the operator may do, as data: the chart renders its ClusterRole from this (or checks against it), the
 * docs list it, and an integration test runs the operator with exactly these rules and nothing more.
 */
import type { V1PolicyRule } from "@kubernetes/client-node";
import { GROUP, PLURAL } from "../crds/api/virtual-machine.ts";

/** Cluster-wide rules (a Role per watched namespace works as well, minus the Lease rule's namespace). */
export const OPERATOR_RULES: V1PolicyRule[] = [
  // create, delete: the replicas of VirtualMachinePools (operator/pool).
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch", "patch", "create", "delete"] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ["patch"] },
  // Setting blockOwnerDeletion on the pod's owner reference needs this where the OwnerReferencesPermission-
  // Enforcement admission plugin is on.
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ["update"] },
  // get: a pod squatting a launcher's name without our labels, which the watch cache never sees.
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "create", "delete"] },
  // The guest agent report of a running launcher: `vireo-launcher agent` through exec (operator/agent), so
  // the launcher needs no credentials and nothing on the pod network answers for the guest.
  { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
  // create/delete: the per-VM state claim (persistent UEFI variables), which the operator owns.
  // get: a clone's source claim (operator/datavolume).
  {
    apiGroups: [""],
    resources: ["persistentvolumeclaims"],
    verbs: ["get", "list", "watch", "create", "delete"],
  },
  // DataVolumes: watched, created from a VM's dataVolumeTemplates, status written; finalizers for the
  // blockOwnerDeletion on the claim and importer pod each one owns.
  { apiGroups: [GROUP], resources: ["datavolumes"], verbs: ["get", "list", "watch", "create"] },
  { apiGroups: [GROUP], resources: ["datavolumes/status"], verbs: ["patch"] },
  { apiGroups: [GROUP], resources: ["datavolumes/finalizers"], verbs: ["update"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create"] },
  // VirtualMachineMigrations: watched and their status written (operator/migration).
  // get: each reconcile reads its migration, and the node a migration names (cordoned, missing).
  { apiGroups: [GROUP], resources: ["virtualmachinemigrations"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
  { apiGroups: [GROUP], resources: ["virtualmachinemigrations/status"], verbs: ["patch"] },
  // Instancetypes and preferences are read when a VM names one; the first one used is pinned as a
  // ControllerRevision owned by the VM (operator/instancetype).
  {
    apiGroups: [GROUP],
    resources: [
      "virtualmachineinstancetypes",
      "virtualmachineclusterinstancetypes",
      "virtualmachinepreferences",
      "virtualmachineclusterpreferences",
    ],
    verbs: ["get"],
  },
  { apiGroups: ["apps"], resources: ["controllerrevisions"], verbs: ["get", "create"] },
  // Pools: watched and their status written; finalizers for the replicas' blockOwnerDeletion.
  { apiGroups: [GROUP], resources: ["virtualmachinepools"], verbs: ["list", "watch"] },
  { apiGroups: [GROUP], resources: ["virtualmachinepools/status"], verbs: ["patch"] },
  { apiGroups: [GROUP], resources: ["virtualmachinepools/finalizers"], verbs: ["update"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
];
