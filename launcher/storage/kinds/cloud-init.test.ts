import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { LauncherInterface } from "../../../crds/launcher/config.ts";
import type { DiskError } from "../errors.ts";
import { defaultNetworkConfig } from "../network-config.ts";
import type { StorageDeps } from "../deps.ts";
import { testConfig } from "../testing.ts";
import { cloudInitKind, noCloudFiles } from "./cloud-init.ts";

const nic = (name: string, mac: string): LauncherInterface => ({
  name,
  binding: "bridge",
  mac,
  model: "virtio",
  ports: [],
  network: { kind: "pod", vmNetworkCIDR: "10.0.2.0/24" },
});
const base = { kind: "cloudInit" as const, instanceId: "0b8a3c9e-uid", hostname: "web" };
const nics = { interfaces: [nic("default", "52:54:00:12:34:56")] };
const byPath = (files: { path: string; data: string | Buffer }[]) =>
  Object.fromEntries(files.map((f) => [f.path, f.data.toString()]));

describe("noCloudFiles", () => {
  it("writes meta-data from the VM's uid and name, and inline user-data verbatim", () => {
    const userData = "#cloud-config\nruncmd:\n  - echo hi\n";
    const files = byPath(noCloudFiles("ci", { ...base, userData }, {}, nics));
    expect(files["meta-data"]).toBe('instance-id: "0b8a3c9e-uid"\nlocal-hostname: "web"\n');
    expect(files["user-data"]).toBe(userData);
  });

  it("reads user-data and network-config from the Secret's keys", () => {
    const files = byPath(
      noCloudFiles(
        "ci",
        { ...base, userDataDir: "/s/ud", networkDataDir: "/s/nd" },
        {
          userDataSecret: { dir: "/s/ud", mounted: true, key: "userData", data: Buffer.from("#!/bin/sh\n") },
          networkDataSecret: {
            dir: "/s/nd",
            mounted: true,
            key: "networkdata",
            data: Buffer.from("version: 2\n"),
          },
        },
        nics,
      ),
    );
    expect(files["user-data"]).toBe("#!/bin/sh\n");
    expect(files["network-config"]).toBe("version: 2\n");
  });

  it("refuses a Secret that is not mounted or lacks the key", () => {
    const codeOf = (read: { dir: string; mounted: boolean }) => {
      try {
        noCloudFiles("ci", { ...base, userDataDir: "/s/ud" }, { userDataSecret: read }, nics);
      } catch (e) {
        return [(e as DiskError).code, (e as DiskError).disk, (e as DiskError).message];
      }
      return [];
    };
    expect(codeOf({ dir: "/s/ud", mounted: false }).slice(0, 2)).toEqual(["MOUNT_MISSING", "ci"]);
    const [code, , message] = codeOf({ dir: "/s/ud", mounted: true });
    expect(code).toBe("CLOUD_INIT_DATA_MISSING");
    expect(message).toContain('"userdata" or "userData"');
  });

  it("writes an empty user-data when none is given (NoCloud needs the file)", () => {
    expect(byPath(noCloudFiles("ci", base, {}, nics))["user-data"]).toBe("");
  });

  it("generates network-config for the VM's NICs, or leaves it out when there are none", () => {
    expect(byPath(noCloudFiles("ci", base, {}, nics))["network-config"]).toBe(defaultNetworkConfig(nics));
    expect(byPath(noCloudFiles("ci", base, {}, { interfaces: [] }))).not.toHaveProperty("network-config");
    expect(byPath(noCloudFiles("ci", { ...base, networkData: "x" }, {}, nics))["network-config"]).toBe("x");
  });

  it("matches the MAC the network plan gave the guest (bridge: the pod interface's), not the configured one", () => {
    // Seen with Debian's cloud-init: matching the configured MAC, no NIC was configured and sshd was unreachable.
    const guestMacs = { default: "82:71:c0:82:19:39" };
    const cfg = parse(byPath(noCloudFiles("ci", base, { guestMacs }, nics))["network-config"]!) as {
      ethernets: Record<string, { match: { macaddress: string } }>;
    };
    expect(cfg.ethernets.default!.match.macaddress).toBe("82:71:c0:82:19:39");
    // A NIC the plan does not name keeps its configured MAC.
    const two = { interfaces: [...nics.interfaces, nic("storage", "02:00:00:00:00:01")] };
    expect(parse(defaultNetworkConfig(two, guestMacs))).toMatchObject({
      ethernets: {
        default: { match: { macaddress: "82:71:c0:82:19:39" } },
        storage: { match: { macaddress: "02:00:00:00:00:01" } },
      },
    });
  });
});

describe("defaultNetworkConfig", () => {
  it("matches every NIC by MAC and asks for DHCPv4", () => {
    const cfg = { interfaces: [nic("default", "52:54:00:12:34:56"), nic("storage", "02:00:00:00:00:01")] };
    expect(parse(defaultNetworkConfig(cfg))).toEqual({
      version: 2,
      ethernets: {
        default: { match: { macaddress: "52:54:00:12:34:56" }, dhcp4: true },
        storage: { match: { macaddress: "02:00:00:00:00:01" }, dhcp4: true },
      },
    });
  });

  it("quotes MACs, which YAML 1.1 (cloud-init's PyYAML) would read as base-60 numbers", () => {
    const text = defaultNetworkConfig({ interfaces: [nic("default", "52:54:00:12:34:56")] });
    expect(text).toContain('macaddress: "52:54:00:12:34:56"');
    expect(parse(text, { version: "1.1" }).ethernets.default.match.macaddress).toBe("52:54:00:12:34:56");
  });
});

describe("cloud-init inspection", () => {
  const config = { ...testConfig("/r", []), interfaces: nics.interfaces };
  const stateFile = `${config.paths.runDir}/network.json`;
  const envWith = (files: Record<string, string>) => ({
    config,
    layout: { disksDir: "/r/var/lib/vireo/disks" },
    deps: {
      fs: {
        stat: async (p: string) =>
          p in files ? { kind: "file", sizeBytes: 1, allocatedBytes: 1 } : undefined,
        readFile: async (p: string) => Buffer.from(files[p] ?? ""),
        probeDirectIo: async () => true,
      },
    } as unknown as StorageDeps,
  });
  const disk = { name: "ci", bus: "virtio" as const, readOnly: true, serial: "ci", source: base };

  it("takes the guest NICs' MACs from the plan netsetup stored", async () => {
    const plan = { version: 1, plan: { nics: [{ name: "default", mac: "82:71:c0:82:19:39", mtu: 1500 }] } };
    const facts = await cloudInitKind(config).inspect(
      disk,
      base,
      envWith({ [stateFile]: JSON.stringify(plan) }),
    );
    expect(facts.guestMacs).toEqual({ default: "82:71:c0:82:19:39" });
  });

  it("keeps the configured MACs when there is no plan, or none it can read", async () => {
    expect((await cloudInitKind(config).inspect(disk, base, envWith({}))).guestMacs).toBeUndefined();
    const broken = envWith({ [stateFile]: "{ not json" });
    expect((await cloudInitKind(config).inspect(disk, base, broken)).guestMacs).toBeUndefined();
  });
});
