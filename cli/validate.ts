import { readFileSync } from "node:fs";
import { checkManifests } from "./manifests.ts";
import { profileLibrary, profilesIn } from "./expand/offline.ts";

const HELP = `usage: vireo validate FILE... 

Checks VirtualMachine manifests offline with the same rules the operator applies. A VM naming an
instancetype or preference is checked expanded with it: from the given files, else the set the chart ships. Prints each problem as
"file: path: message" and exits 1 if there is any; exits 0 when every document is valid. Use - for stdin.`;

/** `vireo validate FILE...`: exit 0 when every document is a valid VirtualMachine, 1 otherwise, 2 on usage. */
export async function validateCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const quiet = argv.includes("-q") || argv.includes("--quiet");
  const files = argv.filter((a) => a === "-" || !a.startsWith("-"));
  if (files.length === 0) {
    console.error(HELP);
    return 2;
  }
  let bad = 0;
  let good = 0;
  const texts = new Map<string, string>();
  for (const file of files) {
    try {
      texts.set(file, readFileSync(file === "-" ? 0 : file, "utf8"));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      console.error(`${file}: cannot read: ${code === "ENOENT" ? "no such file" : (code ?? String(err))}`);
      bad++;
    }
  }
  // Instancetypes and preferences of every file are known to the VMs of every file.
  const profiles = profileLibrary([...texts.values()].flatMap(profilesIn));
  for (const [file, text] of texts) {
    const docs = checkManifests(text, file, profiles);
    if (docs.length === 0) {
      console.error(`${file}: no documents`);
      bad++;
    }
    if (docs.length > 0 && docs.every((d) => d.skipped)) {
      console.error(`${file}: no VirtualMachine in this file`);
      bad++;
    }
    for (const doc of docs) {
      if (doc.skipped) {
        if (!quiet) console.log(`${doc.source}: skipped ${doc.skipped}: not a Vireo resource`);
        continue;
      }
      if (doc.problems.length === 0) {
        good++;
        if (!quiet) console.log(`${doc.source}: ${doc.kind ?? "VirtualMachine"} ${doc.name ?? ""} is valid`);
        continue;
      }
      bad++;
      for (const p of doc.problems) console.error(`${doc.source}: ${p.path}: ${p.message}`);
    }
  }
  return bad > 0 ? 1 : good > 0 ? 0 : 1;
}
