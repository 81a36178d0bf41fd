/**
 * The krew Plugin manifest (krew.googlecontainertools.github.com/v1alpha2) of `kubectl vireo`, for one
 * archive. Pure: manifest.ts hashes the archive and prints the YAML.
 */

/** What a manifest is made from. */
export interface KrewInputs {
  /** The CLI's version, without "v" (package.json). */
  version: string;
  /** Where the release serves the archive. */
  uri: string;
  /** sha256 of the archive, hex. */
  sha256: string;
}

/** Thrown for inputs krew would refuse; `path` names the input. */
export class KrewManifestError extends Error {
  readonly code = "KREW_MANIFEST_INVALID";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "KrewManifestError";
  }
}

/** The manifest as an object (the same archive serves linux and darwin: it is Node.js code). */
export function krewManifest(i: KrewInputs): Record<string, unknown> {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(i.version))
    throw new KrewManifestError("version", `"${i.version}" is not a semantic version`);
  if (!/^[0-9a-f]{64}$/.test(i.sha256))
    throw new KrewManifestError("sha256", "must be 64 lowercase hex digits");
  if (!/^(https?|file):\/\//.test(i.uri))
    throw new KrewManifestError("uri", `"${i.uri}" is not an http(s) URL`);
  return {
    apiVersion: "krew.googlecontainertools.github.com/v1alpha2",
    kind: "Plugin",
    metadata: { name: "vireo" },
    spec: {
      version: `v${i.version}`,
      homepage: "https://vireo.dev",
      shortDescription: "Manage Vireo virtual machines",
      description:
        "Start, stop, restart, pause and inspect Vireo VirtualMachines (vireo.dev), attach to their serial\n" +
        "console or VNC display, validate manifests offline, and check an install (doctor).\n",
      caveats: "This plugin needs Node.js >= 20.9 on your PATH.\n",
      platforms: ["linux", "darwin"].map((os) => ({
        selector: { matchLabels: { os } },
        uri: i.uri,
        sha256: i.sha256,
        bin: "kubectl-vireo",
        files: [
          { from: "kubectl-vireo", to: "." },
          { from: "vireo.mjs", to: "." },
          { from: "LICENSE", to: "." },
        ],
      })),
    },
  };
}
