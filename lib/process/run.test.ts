import { describe, expect, it } from "vitest";
import { ProgramError, runChecked, runProgram } from "./run.ts";

describe("runProgram / runChecked (real child processes)", () => {
  it("returns exit code and output, feeds stdin, and caps the output", async () => {
    expect(await runProgram(["sh", "-c", "cat; echo err >&2; exit 3"], { input: "hello" })).toEqual({
      exitCode: 3,
      signal: null,
      stdout: "hello",
      stderr: "err\n",
    });
    const big = await runProgram(["sh", "-c", "head -c 100000 /dev/zero"], { maxOutputChars: 10 });
    expect(big.stdout).toHaveLength(10);
  });

  it("a program that cannot start or outlives its time is a ProgramError", async () => {
    await expect(runProgram(["/nonexistent/tool"])).rejects.toMatchObject({
      code: "PROGRAM_FAILED",
      message: expect.stringMatching(/^\/nonexistent\/tool: cannot run it/),
    });
    await expect(runProgram(["sleep", "30"], { timeoutMs: 100, shown: ["sleep"] })).rejects.toThrow(
      "sleep: no result after 100 ms",
    );
  });

  it("runChecked: stdout on exit 0; otherwise the error carries stderr", async () => {
    expect(await runChecked(["sh", "-c", "echo ok"])).toBe("ok\n");
    const err = await runChecked(["sh", "-c", "echo nope >&2; exit 1"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProgramError);
    expect(err).toMatchObject({
      stderr: "nope\n",
      message: "sh -c echo nope >&2; exit 1 failed (exit code 1): nope",
    });
  });
});
