import { writeFileSync } from "node:fs";
import { clampMessage } from "../crds/contract/index.ts";

/** Writes the termination message; returns the error instead of throwing (the exit must still happen). */
export function writeTerminationMessage(path: string, message: string): Error | undefined {
  try {
    writeFileSync(path, clampMessage(message));
    return undefined;
  } catch (err) {
    return err as Error;
  }
}
