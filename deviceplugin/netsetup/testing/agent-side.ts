/**
 * The node agent as its own process, as the device plugin runs it: root, the machine's pid namespace,
 * the real pod-resources client. Prints "ready" once every slot's socket listens; stops on SIGTERM.
 *
 *   node --import tsx deviceplugin/netsetup/testing/agent-side.ts DIR STATE_DIR POD_RESOURCES_SOCKET SLOT...
 */
import { pino } from "pino";
import { resourceName } from "../../../crds/contract/index.ts";
import { NetsetupAgent } from "../agent.ts";
import { listPodResources } from "../pod-resources.ts";

const [dir, stateDir, podResources, ...slots] = process.argv.slice(2);
if (!dir || !stateDir || !podResources || !slots.length)
  throw new Error("usage: agent-side.ts DIR STATE_DIR POD_RESOURCES_SOCKET SLOT...");
const agent = new NetsetupAgent({
  dir,
  stateDir,
  slotIds: slots,
  resourceName: resourceName("tun"),
  listPods: () => listPodResources(podResources),
  logger: pino({ level: "info" }, pino.destination(2)),
});
await agent.start();
process.stdout.write("ready\n");
await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
await agent.stop();
