import { createServer } from "node:net";

/**
 * Asks the OS for a free TCP port on 127.0.0.1. Another process may take it before the component binds
 * it; the control plane detects that from the component's log and retries with new ports.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error("the OS gave no port"))));
    });
  });
}

/** Distinct free ports; distinct because the OS may hand out a just-closed port again. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count; attempt++) {
    if (attempt >= count * 20)
      throw new Error(`the OS kept handing out the same ports: ${[...ports].join(", ")}`);
    ports.add(await freePort());
  }
  return [...ports];
}
