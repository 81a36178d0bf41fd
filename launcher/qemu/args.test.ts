import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GOLDEN_HOST, shapes } from "../../test/golden/qemu/shapes.ts";
import { buildQemuArgs } from "./args.ts";
import { cpuModel } from "./devices/cpu.ts";
import { qemuSize } from "./devices/memory.ts";
import { QemuArgsError } from "./errors.ts";
import { opts } from "./opts.ts";

const goldenDir = fileURLToPath(new URL("../../test/golden/qemu/", import.meta.url));
// UPDATE_GOLDEN=1 rewrites the files; review the diff like any other change.
const update = process.env.UPDATE_GOLDEN === "1";

/** Golden files hold one argument per line, so a diff shows exactly which argument changed. */
const render = (argv: string[]) => argv.join("\n") + "\n";

describe("buildQemuArgs golden files", () => {
  const all = shapes(GOLDEN_HOST);
  it("pins at least ten distinct shapes", () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
  });
  for (const shape of all) {
    it(`${shape.name}: ${shape.about}`, () => {
      const file = `${goldenDir}${shape.name}.args`;
      const actual = render(buildQemuArgs(shape.config, shape.inputs));
      if (update || !existsSync(file)) writeFileSync(file, actual);
      expect(actual).toBe(readFileSync(file, "utf8"));
    });
  }
});

describe("buildQemuArgs rules", () => {
  const [bios] = shapes(GOLDEN_HOST);
  const base = bios!;
  const withDisks = (disks: typeof base.inputs.disks, machine: "q35" | "microvm" = "q35") =>
    buildQemuArgs({ ...base.config, machine }, { ...base.inputs, disks });
  const disk = {
    name: "d",
    path: "/d.img",
    format: "raw",
    driver: "file",
    readOnly: false,
    serial: "d",
  } as const;

  it("starts paused, without defaults or user config, with the sandbox and QMP on a unix socket", () => {
    const argv = buildQemuArgs(base.config, base.inputs);
    for (const a of ["-nodefaults", "-no-user-config", "-S"]) expect(argv).toContain(a);
    expect(argv[argv.indexOf("-sandbox") + 1]).toMatch(/^on,/);
    expect(argv[argv.indexOf("-qmp") + 1]).toBe("unix:/var/run/vireo/qmp.sock,server=on,wait=off");
    expect(argv[argv.indexOf("-display") + 1]).toBe("none");
    expect(argv).not.toContain("-vnc");
  });

  it("rejects aio=native without O_DIRECT", () => {
    expect(() =>
      withDisks([{ ...disk, bus: "virtio", cache: "writeback", aio: "native", discard: false }]),
    ).toThrowError(expect.objectContaining({ code: "QEMU_ARGS_INVALID", path: "disks[0].aio" }));
  });

  it("rejects a virtio CD-ROM and a read-only SATA hard disk", () => {
    const d = { ...disk, cache: "none", aio: "threads", discard: false } as const;
    expect(() => withDisks([{ ...d, bus: "virtio", media: "cdrom" }])).toThrow(QemuArgsError);
    expect(() => withDisks([{ ...d, bus: "sata", readOnly: true }])).toThrowError(/read-only SATA/);
  });

  it("rejects SATA on microvm and more SATA disks than AHCI ports", () => {
    const d = { ...disk, cache: "none", aio: "threads", discard: false, bus: "sata" } as const;
    expect(() => withDisks([d], "microvm")).toThrowError(/microvm has no SATA/);
    const seven = Array.from({ length: 7 }, (_, i) => ({ ...d, name: `d${i}` }));
    expect(() => withDisks(seven)).toThrowError(/at most 6 SATA disks/);
    expect(withDisks(seven.slice(0, 6)).filter((a) => a.startsWith("ide-hd,bus=ide.5"))).toHaveLength(1);
  });
});

describe("device helpers", () => {
  it("maps CPU models per accelerator", () => {
    expect(cpuModel("host-passthrough", "tcg", ["-arch-capabilities"])).toBe("max");
    expect(cpuModel("host-model", "tcg", [])).toBe("max");
    expect(cpuModel("host-passthrough", "kvm", [])).toBe("host");
    expect(cpuModel("host-model", "kvm", ["-arch-capabilities"])).toBe("host,-arch-capabilities");
    expect(cpuModel("Skylake-Server", "kvm", ["-arch-capabilities"])).toBe("Skylake-Server");
  });

  it("renders sizes QEMU reads exactly", () => {
    expect(qemuSize(256 * 2 ** 20)).toBe("256M");
    expect(qemuSize(2 ** 30 + 4096)).toBe(`${2 ** 30 + 4096}B`);
  });

  it("doubles commas in option values and drops undefined ones", () => {
    expect(opts("file", { filename: "/a,b", x: undefined, ro: true, n: 3 })).toBe(
      "file,filename=/a,,b,ro=on,n=3",
    );
  });
});
