/** Reading a VNC client's frame: how much of it is lit (console text on a dark screen). */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The share of a JPEG's pixels brighter than mid-grey, decoded to 8-bit grey with Debian's `djpeg`. */
export async function litShare(jpeg: string): Promise<number> {
  const pgm = (await run("djpeg", ["-grayscale", "-pnm", jpeg], { encoding: "buffer" })).stdout;
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString("latin1"));
  if (!header) throw new Error(`${jpeg}: djpeg did not write a binary PGM`);
  const pixels = pgm.subarray(header[0].length);
  if (pixels.length !== Number(header[1]) * Number(header[2])) throw new Error(`${jpeg}: truncated PGM`);
  let lit = 0;
  for (const p of pixels) if (p > 128) lit++;
  return lit / pixels.length;
}
