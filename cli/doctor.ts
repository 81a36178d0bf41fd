/**
 * `vireo doctor`: checks that Vireo is installed and working — the CRD established, the operator Deployment
 * available, and a halted VM accepted by the API server and reconciled by the operator (then deleted).
 * The chart's `helm test` hook runs it in the operator image; people run it from their own kubeconfig.
 * Exit codes: 0 all good, 1 a check failed, 2 bad usage.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../crds/api/virtual-machine.ts";
import { isApiStatus } from "../lib/kube/errors.ts";
import { resourcePath } from "../lib/kube/paths.ts";
import { ClusterCliError } from "./cluster/errors.ts";
import { ClusterClient, FIELD_MANAGER, loadTarget } from "./cluster/kube.ts";
import {
  checkCrd,
  checkOperator,
  checkTrialVm,
  CRD_NAME,
  trialVm,
  type CheckResult,
} from "./doctor/checks.ts";

const HELP = `usage: vireo doctor [options]

Checks an install: the VirtualMachine CRD is established, the operator Deployment is available, and a
VM with runStrategy Halted is accepted and reconciled by the operator (it is deleted again).

Options:
      --operator-namespace NS     namespace of the operator Deployment (default vireo-system)
      --operator-deployment NAME  its name (default vireo-operator)
  -n, --namespace NS              namespace for the trial VM (default: the context's, else "default");
                                  the operator must watch it
      --timeout SECONDS           how long each check may take to turn good (default 90)
      --skip-vm                   only the CRD and the operator (no write)
      --kubeconfig FILE, --context NAME   as for kubectl
  -h, --help                      this help`;

/** Injectable pieces, for tests. */
export interface DoctorDeps {
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `vireo doctor ARGS`: returns the exit code. */
export async function doctorCommand(argv: string[], deps: DoctorDeps = {}): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args: argv,
      options: {
        "operator-namespace": { type: "string", default: "vireo-system" },
        "operator-deployment": { type: "string", default: "vireo-operator" },
        namespace: { type: "string", short: "n" },
        timeout: { type: "string", default: "90" },
        "skip-vm": { type: "boolean", default: false },
        kubeconfig: { type: "string" },
        context: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`vireo doctor: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  const timeoutS = Number(opts.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    console.error(`vireo doctor: --timeout: "${opts.timeout}" is not a positive number of seconds`);
    return 2;
  }
  const log = deps.log ?? ((l: string) => console.log(l));
  const sleep = deps.sleep ?? sleepReal;
  try {
    const target = loadTarget(opts);
    const doctor = new Doctor(target.kubeConfig, { timeoutMs: timeoutS * 1000, sleep, log });
    const ok =
      (await doctor.crd()) &&
      (await doctor.operator(opts["operator-namespace"], opts["operator-deployment"])) &&
      (opts["skip-vm"] || (await doctor.trialVm(target.namespace)));
    log(ok ? "vireo doctor: all checks passed" : "vireo doctor: FAILED");
    return ok ? 0 : 1;
  } catch (err) {
    if (err instanceof ClusterCliError) {
      log(`FAIL  ${err.message}`);
      return 1;
    }
    throw err;
  }
}

const CRDS = { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions" };
const DEPLOYMENTS = { group: "apps", version: "v1", plural: "deployments" };
const VMS = { group: GROUP, version: VERSION, plural: PLURAL };

class Doctor {
  readonly #api: ClusterClient;
  readonly #timeoutMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #log: (line: string) => void;

  constructor(
    kc: KubeConfig,
    o: { timeoutMs: number; sleep: (ms: number) => Promise<void>; log: (line: string) => void },
  ) {
    this.#api = new ClusterClient(kc);
    this.#timeoutMs = o.timeoutMs;
    this.#sleep = o.sleep;
    this.#log = o.log;
  }

  /** Polls `probe` until it is not pending or the deadline passes; prints and returns whether it is ok. */
  async #until(probe: () => Promise<CheckResult>): Promise<boolean> {
    const deadline = Date.now() + this.#timeoutMs;
    let r = await probe();
    while (r.state === "pending" && Date.now() < deadline) {
      await this.#sleep(1000);
      r = await probe();
    }
    this.#log(
      `${r.state === "ok" ? "ok  " : "FAIL"}  ${r.detail}${r.state === "pending" ? " (timed out)" : ""}`,
    );
    return r.state === "ok";
  }

  crd(): Promise<boolean> {
    const path = resourcePath(CRDS, undefined, CRD_NAME);
    return this.#until(async () => checkCrd(await this.#api.getIfExists(`get CRD ${CRD_NAME}`, path)));
  }

  operator(namespace: string, name: string): Promise<boolean> {
    const path = resourcePath(DEPLOYMENTS, namespace, name);
    return this.#until(async () =>
      checkOperator(
        `${namespace}/${name}`,
        await this.#api.getIfExists(`get deployment ${namespace}/${name}`, path),
      ),
    );
  }

  async trialVm(namespace: string): Promise<boolean> {
    const name = `vireo-doctor-${randomBytes(3).toString("hex")}`;
    try {
      await this.#api.request(
        `create a halted VM ${namespace}/${name}`,
        "POST",
        resourcePath(VMS, namespace),
        {
          body: trialVm(namespace, name),
          query: { fieldManager: FIELD_MANAGER },
        },
      );
    } catch (err) {
      this.#log(`FAIL  the API server refused a halted VM: ${(err as Error).message}`);
      return false;
    }
    let ok = false;
    try {
      ok = await this.#until(async () =>
        checkTrialVm(
          await this.#api.getIfExists(`get VM ${namespace}/${name}`, resourcePath(VMS, namespace, name)),
        ),
      );
    } finally {
      // A VM that cannot be deleted (the operator never drops its finalizer) fails the check too.
      ok = (await this.#deleteTrial(namespace, name)) && ok;
    }
    return ok;
  }

  /** Deletes the trial VM and waits until it is gone (the operator drops its finalizer). */
  async #deleteTrial(namespace: string, name: string): Promise<boolean> {
    const path = resourcePath(VMS, namespace, name);
    try {
      await this.#api.request(`delete VM ${namespace}/${name}`, "DELETE", path);
    } catch (err) {
      if (!(err instanceof ClusterCliError && isApiStatus(err.cause, 404))) throw err;
    }
    const gone = await this.#until(async () => {
      const vm = await this.#api.getIfExists(`get VM ${namespace}/${name}`, path);
      return vm === undefined
        ? { state: "ok", detail: `trial VM ${name} deleted` }
        : { state: "pending", detail: `trial VM ${name} still there (finalizer?)` };
    });
    if (!gone) this.#log(`      delete it yourself: kubectl -n ${namespace} delete vm ${name}`);
    return gone;
  }
}
