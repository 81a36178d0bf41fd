/** The launcher container's probes: the launcher's own readiness, and the user's guest probes. */
import type { V1Container, V1Probe } from "@kubernetes/client-node";
import type { VmSpec } from "../../crds/api/spec.ts";
import { LAUNCHER_BIN, podPaths, readyFilePath } from "../../crds/contract/index.ts";

type GuestProbe = NonNullable<VmSpec["readinessProbe"]>;

/**
 * The launcher marks the running guest with a file (`READY_FILE` in crds/contract); an exec probe reads it.
 * Not an HTTP probe: with the bridge binding the pod IP is the guest's, so the kubelet would probe the guest.
 */
export function launcherReadiness(): V1Probe {
  return {
    exec: { command: ["test", "-e", readyFilePath(podPaths().runDir)] },
    periodSeconds: 2,
    timeoutSeconds: 1,
    failureThreshold: 3,
  };
}

/** Time a launcher gets to become ready when a guest probe waits behind it: 10 minutes of 2-second probes. */
const STARTUP_FAILURE_THRESHOLD = 300;

/**
 * With guest probes, the launcher's readiness becomes the startup probe: the kubelet runs the guest probes
 * only after the launcher is ready, and the container's `started` flag tells the operator the VM runs even
 * while the guest is not yet ready.
 */
export function launcherStartup(): V1Probe {
  return { ...launcherReadiness(), failureThreshold: STARTUP_FAILURE_THRESHOLD };
}

/**
 * A guest probe as a pod probe. The kubelet probes the pod IP; the guest answers there with the bridge
 * binding (it owns the pod IP) and through the forwarded ports with masquerade and passt.
 */
export function guestProbe(p: GuestProbe): V1Probe {
  const agent = agentProbe(p);
  return {
    ...(p.httpGet ? { httpGet: { port: p.httpGet.port, path: p.httpGet.path, scheme: "HTTP" } } : {}),
    ...(p.tcpSocket ? { tcpSocket: { port: p.tcpSocket.port } } : {}),
    ...(agent ? { exec: agent.exec } : {}),
    ...(p.initialDelaySeconds !== undefined ? { initialDelaySeconds: p.initialDelaySeconds } : {}),
    ...(p.periodSeconds !== undefined ? { periodSeconds: p.periodSeconds } : {}),
    ...(agent
      ? { timeoutSeconds: agent.timeoutSeconds }
      : p.timeoutSeconds !== undefined
        ? { timeoutSeconds: p.timeoutSeconds }
        : {}),
    ...(p.failureThreshold !== undefined ? { failureThreshold: p.failureThreshold } : {}),
    ...(p.successThreshold !== undefined ? { successThreshold: p.successThreshold } : {}),
  };
}

/** Time the launcher's `probe` command needs on top of the guest's answer: its own start and the control socket. */
const AGENT_PROBE_OVERHEAD_SECONDS = 10;

/**
 * guestAgentPing and exec: exec probes of `vireo-launcher probe …` in the launcher container, which asks the
 * guest agent through the control socket (launcher/agent); the guest gets the probe's timeoutSeconds (default
 * 1, as KubeVirt) and the kubelet waits that plus the launcher's own overhead.
 */
function agentProbe(p: GuestProbe): { exec: { command: string[] }; timeoutSeconds: number } | undefined {
  if (!p.guestAgentPing && !p.exec) return undefined;
  const guestSeconds = p.timeoutSeconds ?? 1;
  const head = [LAUNCHER_BIN, "probe", "--timeout", String(guestSeconds)];
  const command = p.exec ? [...head, "exec", "--", ...p.exec.command] : [...head, "agent-ping"];
  return { exec: { command }, timeoutSeconds: guestSeconds + AGENT_PROBE_OVERHEAD_SECONDS };
}

/** The three probe slots of the launcher container for this spec. */
export function launcherProbes(
  spec: VmSpec,
): Pick<V1Container, "readinessProbe" | "livenessProbe" | "startupProbe"> {
  const { readinessProbe, livenessProbe } = spec;
  if (!readinessProbe && !livenessProbe) return { readinessProbe: launcherReadiness() };
  return {
    startupProbe: launcherStartup(),
    readinessProbe: readinessProbe ? guestProbe(readinessProbe) : launcherReadiness(),
    ...(livenessProbe ? { livenessProbe: guestProbe(livenessProbe) } : {}),
  };
}

/** True when the pod's readiness includes a guest probe (then `started` marks a running launcher). */
export function hasGuestProbes(spec: Pick<VmSpec, "readinessProbe" | "livenessProbe">): boolean {
  return Boolean(spec.readinessProbe ?? spec.livenessProbe);
}
