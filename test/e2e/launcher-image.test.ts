/**
 * The launcher image as a container, through testcontainers and podman's API: the image's own Node.js, QEMU
 * and `vireo-launcher` boot the test guest under TCG with its kernel and initramfs mounted where the pod's
 * copy container would put them, and the launcher's /metrics answers. No pod network: the VM has no NIC, so the
 * container shares the host's network namespace only to expose the launcher's HTTP port (no bridge, no NAT).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedTestContainer } from "testcontainers";
import { launcherConfigSchema, type LauncherConfig } from "../../crds/launcher/config.ts";
import { podPaths } from "../../crds/contract/index.ts";
import { guestArtifacts } from "../guest/artifacts.ts";
import { eventually } from "../harness/eventually.ts";
import { freePort } from "../harness/ports.ts";
import { buildImages } from "./images.ts";
import { usePodmanService, type PodmanService } from "./podman-service.ts";

const MiB = 2 ** 20;
const paths = podPaths();

async function configFor(id: string): Promise<LauncherConfig> {
  return launcherConfigSchema.parse({
    version: "v1",
    vm: { namespace: "image-test", name: "tc-guest", uid: "5a0e6c1d-6b1f-4d0e-9a43-0c1b2d3e4f50" },
    accelerator: { allowEmulation: true },
    machine: "q35",
    cpu: { sockets: 1, cores: 1, threads: 1, model: "host-passthrough" },
    memory: { guestBytes: 256 * MiB },
    boot: {
      kind: "kernel",
      kernelPath: `${paths.kernelDir}/kernel`,
      initrdPath: `${paths.kernelDir}/initrd`,
      cmdline: `console=ttyS0 panic=-1 vireo.id=${id}`,
    },
    disks: [],
    interfaces: [],
    devices: { serialConsole: true, vnc: false, rng: true, balloon: { enabled: true, statsPollSeconds: 5 } },
    terminationGracePeriodSeconds: 10,
    paths,
    http: { port: await freePort() },
  });
}

describe("launcher image (testcontainers on podman)", () => {
  let podman: PodmanService | undefined;
  let container: StartedTestContainer | undefined;
  let config: LauncherConfig;
  const id = Math.random().toString(16).slice(2, 10);

  beforeAll(async () => {
    const images = await buildImages(["launcher"]);
    podman = await usePodmanService();
    config = await configFor(id);
    const { kernel, initramfs } = guestArtifacts();
    // Imported after DOCKER_HOST is set: testcontainers reads its environment on first use.
    const { GenericContainer, Wait } = await import("testcontainers");
    // podman's compatible API honours HostConfig.Runtime; testcontainers has no setter for it.
    class RuncContainer extends GenericContainer {
      constructor(image: string) {
        super(image);
        this.hostConfig.Runtime = "runc";
      }
    }
    container = await new RuncContainer(images.launcher)
      .withPullPolicy({ shouldPull: () => false })
      .withNetworkMode("host")
      .withUlimits({ nofile: { soft: 1024, hard: 1024 }, nproc: { soft: 1024, hard: 1024 } })
      .withEnvironment({ VIREO_LAUNCHER_CONFIG: JSON.stringify(config), VIREO_ACCEL: "tcg" })
      // The pod's emptyDirs: writable, and owned by nobody in particular (tmpfs is 1777).
      .withTmpFs({ [paths.runDir]: "rw,mode=1777", [paths.stateDir]: "rw,mode=1777", "/tmp": "rw,mode=1777" })
      .withBindMounts([
        { source: kernel, target: `${paths.kernelDir}/kernel`, mode: "ro" },
        { source: initramfs, target: `${paths.kernelDir}/initrd`, mode: "ro" },
      ])
      .withWaitStrategy(Wait.forLogMessage(/"msg":"guest running"/))
      .withStartupTimeout(180_000)
      .start();
  }, 25 * 60_000);

  afterAll(async () => {
    await container?.stop({ timeout: 15_000 });
    await podman?.stop();
  }, 120_000);

  it("runs as the non-root launcher user with the image's QEMU", async () => {
    const who = await container!.exec(["id", "-u"]);
    expect(who.output.trim()).toBe("107");
    const qemu = await container!.exec(["qemu-system-x86_64", "--version"]);
    expect(qemu.output).toMatch(/QEMU emulator version 7\.2/);
  });

  it("boots the test guest under TCG", async () => {
    const consoleText = await eventually(
      async () => {
        const r = await container!.exec(["vireo-launcher", "logs", "--run-dir", paths.runDir]);
        if (!/VIREO-GUEST ready/.test(r.output)) throw new Error(`no "ready" yet:\n${r.output.slice(-400)}`);
        return r.output;
      },
      { timeoutMs: 180_000, intervalMs: 1_000, description: "the guest's ready line on the console" },
    );
    expect(consoleText).toContain(`id=${id}`);
    expect(consoleText).toMatch(/VIREO-GUEST boot kernel=\S+-cloud-amd64/);
  });

  it("answers /readyz and /metrics with the VM's series", async () => {
    const base = `http://127.0.0.1:${config.http.port}`;
    const ready = await eventually(async () => {
      const r = await fetch(`${base}/readyz`);
      if (r.status !== 200) throw new Error(`/readyz ${r.status}`);
      return r.status;
    });
    expect(ready).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      /vireo_vm_info\{namespace="image-test",name="tc-guest",[^}]*accelerator="tcg"[^}]*\} 1/,
    );
    expect(text).toMatch(/vireo_vm_state\{namespace="image-test",name="tc-guest",state="running"\} 1/);
  });
});
