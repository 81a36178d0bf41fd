/**
 * The user's own `ssh`/`scp`, reaching the guest through the API server: a ProxyCommand that runs
 * `vireo port-forward --stdio VM 22` (port-forward to the launcher pod), so no node port or Service is
 * needed and Kubernetes RBAC (pods/portforward) decides who may connect. The host key is filed under
 * `vm.NAMESPACE.NAME` (HostKeyAlias), so two VMs of the same name in different namespaces do not clash and
 * a replaced guest with a new key is noticed. Pure.
 */

/** How this `vireo` is started again from ssh's ProxyCommand, and the target. */
export interface SshPlanInputs {
  /** argv prefix that runs this CLI (process.execPath and the script). */
  self: readonly string[];
  namespace: string;
  vm: string;
  user: string | undefined;
  identity: string | undefined;
  /** Passed on to port-forward (the same cluster as this command). */
  kubeconfig: string | undefined;
  context: string | undefined;
}

/** Quotes one word for the shell ssh runs its ProxyCommand with. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The `-o` options both ssh and scp get. */
export function proxyOptions(p: SshPlanInputs): string[] {
  const proxy = [
    ...p.self,
    "port-forward",
    "--stdio",
    "-n",
    p.namespace,
    ...(p.kubeconfig ? ["--kubeconfig", p.kubeconfig] : []),
    ...(p.context ? ["--context", p.context] : []),
    p.vm,
    "22",
  ]
    .map(shellQuote)
    .join(" ");
  return [
    "-o",
    `ProxyCommand=${proxy}`,
    "-o",
    `HostKeyAlias=vm.${p.namespace}.${p.vm}`,
    ...(p.identity ? ["-i", p.identity] : []),
  ];
}

/** argv of `ssh` for `vireo ssh [user@]VM -- ARGS`. */
export function sshArgv(p: SshPlanInputs, extra: readonly string[]): string[] {
  return [...proxyOptions(p), p.user ? `${p.user}@${p.vm}` : p.vm, ...extra];
}

/** argv of `scp` for `vireo scp`: the operands unchanged (ssh resolves VM:path through the proxy). */
export function scpArgv(p: SshPlanInputs, operands: readonly string[]): string[] {
  return [...proxyOptions(p), ...operands];
}
