import type { IsoTool } from "./deps.ts";
import { ProgramError, runProgram } from "./run.ts";

/**
 * The ISO tool backed by `genisoimage` (Debian's cdrkit), as KubeVirt and cloud-localds use. Joliet and Rock
 * Ridge keep long file names for Windows and Linux guests; "rational" Rock Ridge gives every file owner root
 * and a readable mode, so neither the host's uids nor the staging files' 0600 end up in the guest.
 */
export function genisoimage(binary = "genisoimage"): IsoTool {
  return {
    async build(output, sourceDir, label) {
      const r = await runProgram(binary, [
        "-quiet",
        "-output",
        output,
        "-volid",
        label,
        "-joliet",
        "-rational-rock",
        "-input-charset",
        "utf-8",
        sourceDir,
      ]);
      if (r.exitCode !== 0)
        throw new ProgramError(`genisoimage failed (exit ${r.exitCode}): ${r.stderr.trim() || "no output"}`);
    },
  };
}
