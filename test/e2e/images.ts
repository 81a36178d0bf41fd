/** The Vireo images as scripts/images/build.sh builds and names them. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { z } from "zod";

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL("../../scripts/images/build.sh", import.meta.url));

const refsSchema = z.object({
  VIREO_IMAGE_OPERATOR: z.string().min(1),
  VIREO_IMAGE_LAUNCHER: z.string().min(1),
  VIREO_IMAGE_TEST_GUEST: z.string().min(1, "no test guest is built (bash scripts/guest/build.sh)"),
});

/** Image references, e.g. `localhost/vireo-launcher:0.1.0`. */
export interface ImageRefs {
  operator: string;
  launcher: string;
  testGuest: string;
}

/** Parses build.sh's `--print-env` output (KEY=value lines). Pure. */
export function parseImageRefs(text: string): ImageRefs {
  const env = Object.fromEntries(
    text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const r = refsSchema.parse(env);
  return {
    operator: r.VIREO_IMAGE_OPERATOR,
    launcher: r.VIREO_IMAGE_LAUNCHER,
    testGuest: r.VIREO_IMAGE_TEST_GUEST,
  };
}

/** The references of the images as build.sh names them now (nothing is built). */
export async function imageRefs(): Promise<ImageRefs> {
  const { stdout } = await run("bash", [BUILD, "--print-env"], { timeout: 60_000 });
  return parseImageRefs(stdout);
}

/**
 * Builds the named images (podman's layer cache makes this a few seconds when nothing changed, about a minute
 * per app image when sources did) and returns every image's reference.
 */
export async function buildImages(targets: readonly string[]): Promise<ImageRefs> {
  await run("bash", [BUILD, ...targets], { timeout: 20 * 60_000, maxBuffer: 16 * 2 ** 20 });
  return imageRefs();
}
