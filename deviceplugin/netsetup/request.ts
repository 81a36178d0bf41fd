/** The one request line a launcher sends, validated once here; the answer line the agent sends back. */
import { z } from "zod";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { NODE_NETSETUP_VERSION } from "../../crds/contract/index.ts";
import { NetsetupError } from "./errors.ts";

const requestSchema = z
  .object({
    version: z.literal(NODE_NETSETUP_VERSION),
    /** The launcher config (the pod's own annotation): only its interfaces and run paths matter here. */
    config: launcherConfigSchema,
    /** The pod's /etc/resolv.conf, for the DHCP leases' DNS options. */
    resolvConf: z.string().max(64 << 10),
    /** Multus' network-status annotation, when the VM has secondary networks. */
    networkStatus: z
      .string()
      .max(256 << 10)
      .optional(),
  })
  .strict();

/** A validated request. */
export interface NetsetupRequest {
  config: LauncherConfig;
  resolvConf: string;
  networkStatus?: string | undefined;
}

/** Parses one request line; BAD_REQUEST with the first failing field's path otherwise. */
export function parseRequest(line: string): NetsetupRequest {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (cause) {
    throw new NetsetupError("BAD_REQUEST", "the request is not JSON", { cause });
  }
  const r = requestSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new NetsetupError("BAD_REQUEST", `request ${issue.path.join(".") || "(root)"}: ${issue.message}`, {
      cause: r.error,
    });
  }
  return r.data;
}
