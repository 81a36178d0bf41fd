import { describe, expect, it } from "vitest";
import { parseUploadArgs, progressLine } from "./args.ts";

describe("vireo image-upload flags", () => {
  it("takes dv/NAME or NAME, the image path, size and wait", () => {
    expect(
      parseUploadArgs(["--image-path", "d.qcow2", "dv/debian", "--size", "10Gi", "--wait", "-n", "prod"]),
    ).toMatchObject({
      imagePath: "d.qcow2",
      name: "debian",
      size: "10Gi",
      wait: true,
      namespace: "prod",
      volumeMode: "Filesystem",
      timeoutSeconds: 300,
    });
    expect(parseUploadArgs(["--image-path", "x", "debian"]).name).toBe("debian");
  });
  it.each([
    [["dv/debian"], /--image-path FILE is required/],
    [["--image-path", "x"], /name one DataVolume/],
    [["--image-path", "x", "dv/Debian_1"], /DNS-1123 label/],
    [["--image-path", "x", "dv/d", "--size", "ten"], /--size ten/],
    [["--image-path", "x", "dv/d", "--size", "1Ki"], /at least 1Mi/],
    [["--image-path", "x", "dv/d", "--volume-mode", "Raw"], /Filesystem or Block/],
    [["--image-path", "x", "dv/d", "--bogus"], /Unknown option/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseUploadArgs(argv)).toThrow(message);
  });
  it("draws a progress line", () => {
    expect(progressLine(0, 100 * 2 ** 20, 0, 10)).toBe("[..........]   0%  0.0/100.0 MiB");
    expect(progressLine(52 * 2 ** 20, 100 * 2 ** 20, 4, 10)).toBe(
      "[#####.....]  52%  52.0/100.0 MiB  13.0 MiB/s",
    );
    expect(progressLine(10, 10, 1, 4)).toMatch(/^\[####\] 100%/);
  });
});
