/**
 * The control socket's guest agent commands (crds/contract/control.ts): the report, ping and exec (the
 * probes run `vireo-launcher probe …`, which comes here), soft reboot, and freeze/thaw for snapshots.
 * An agent failure becomes AGENT_UNAVAILABLE with the agent's own reason in the message.
 */
import { CONTROL_ERRORS, type ControlRequest } from "../../crds/contract/index.ts";
import type { GuestAgent } from "./guest-agent.ts";

/** The agent control commands. */
export type AgentCommand = Extract<
  ControlRequest["command"],
  "agent" | "agent-ping" | "agent-exec" | "soft-reboot" | "fsfreeze" | "fsthaw" | "fsfreeze-status"
>;

/** True for the commands this module answers. */
export function isAgentCommand(command: ControlRequest["command"]): command is AgentCommand {
  return [
    "agent",
    "agent-ping",
    "agent-exec",
    "soft-reboot",
    "fsfreeze",
    "fsthaw",
    "fsfreeze-status",
  ].includes(command);
}

/** Carries out one agent command. */
export async function agentControl(agent: GuestAgent, r: ControlRequest): Promise<unknown> {
  const timeoutMs = r.timeoutSeconds !== undefined ? r.timeoutSeconds * 1000 : undefined;
  try {
    switch (r.command as AgentCommand) {
      case "agent":
        return agent.report();
      case "agent-ping":
        await agent.ping(timeoutMs);
        return { ok: true };
      case "agent-exec":
        return { exitCode: await agent.exec(r.args ?? [], timeoutMs ?? 10_000) };
      case "soft-reboot":
        await agent.shutdown("reboot");
        return { rebooting: true };
      case "fsfreeze":
        return { frozen: await agent.freeze() };
      case "fsthaw":
        return { thawed: await agent.thaw() };
      case "fsfreeze-status":
        return { status: await agent.freezeStatus() };
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    const h = agent.report();
    throw Object.assign(
      new Error(`${r.command}: ${e.message} (agent: ${h.reason}: ${h.message})`, { cause: err }),
      { code: CONTROL_ERRORS.AGENT_UNAVAILABLE, agentCode: e.code },
    );
  }
}
