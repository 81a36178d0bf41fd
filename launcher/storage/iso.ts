import type { IsoTool } from "./deps.ts";
import { ProgramError, runProgram } from "./run.ts";

/**
 * The ISO tool backed by `xorrisofs` (xorriso's mkisofs emulation; KubeVirt moved to it from cdrkit's
 * unmaintained genisoimage). Joliet and Rock Ridge keep long file names for Windows and Linux guests;
 * "rational" Rock Ridge (`-rational-rock`) gives every file owner and group 0 and a readable, unwritable mode,
 * so neither the host's uids nor the staging files' 0600 end up in the guest. The options are genisoimage's
 * and mean the same to xorrisofs.
 */
export function xorrisofs(binary = "xorrisofs"): IsoTool {
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
        throw new ProgramError(
          `xorrisofs failed (exit ${r.exitCode}): ${isoProblems(r.stderr) || "no output"}`,
        );
    },
  };
}

/**
 * What xorrisofs said that matters: even with `-quiet` it prints its banner and NOTE lines to stderr;
 * FAILURE/SORRY/WARNING lines (xorriso's and its libraries') are the ones that explain an exit code.
 */
export function isoProblems(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const problems = lines.filter(
    (l) => !/^xorriso \S+ : RockRidge filesystem manipulator/.test(l) && !/ : (NOTE|UPDATE) : /.test(l),
  );
  return (problems.length > 0 ? problems : lines).join("; ");
}
