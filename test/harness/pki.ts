import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Paths of the certificates and keys one control plane uses. */
export interface ControlPlanePki {
  /** CA that signs the serving cert and the admin client cert; also the apiserver's --client-ca-file. */
  caCert: string;
  /** kube-apiserver serving certificate (SANs: 127.0.0.1, localhost, kubernetes.default.svc…). */
  serverCert: string;
  /** Key of serverCert. */
  serverKey: string;
  /** Admin client certificate: CN=vireo-admin, O=system:masters (cluster-admin via RBAC's bootstrap binding). */
  adminCert: string;
  /** Key of adminCert. */
  adminKey: string;
  /** Private key that signs service-account tokens. */
  serviceAccountKey: string;
  /** Public half of serviceAccountKey, which verifies them. */
  serviceAccountPub: string;
}

// Our own openssl config so no distribution default (such as v3_ca on every `req -x509`) leaks into leaf
// certificates.
const opensslConfig = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;

async function openssl(dir: string, args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir, timeout: 30_000 });
}

// openssl rather than hand-written ASN.1: Node can make keys but not X.509 certificates.
async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca?: string,
): Promise<void> {
  const signer = ca === undefined ? [] : ["-CA", `${ca}.crt`, "-CAkey", `${ca}.key`];
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-subj",
    subject,
    "-days",
    "7",
    "-config",
    "openssl.cnf",
    "-extensions",
    extensions,
    ...signer,
  ]);
}

/** Creates a throw-away CA, serving and admin certificates and service-account keys in `dir`. */
export async function createPki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, "openssl.cnf"), opensslConfig);
  await issue(dir, "ca", "/CN=vireo-test-ca", "ca");
  await Promise.all([
    issue(dir, "apiserver", "/CN=kube-apiserver", "server", "ca"),
    issue(dir, "admin", "/O=system:masters/CN=vireo-admin", "client", "ca"),
  ]);
  const sa = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await writeFile(join(dir, "sa.key"), sa.privateKey.export({ type: "pkcs8", format: "pem" }), {
    mode: 0o600,
  });
  await writeFile(join(dir, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
  return {
    caCert: join(dir, "ca.crt"),
    serverCert: join(dir, "apiserver.crt"),
    serverKey: join(dir, "apiserver.key"),
    adminCert: join(dir, "admin.crt"),
    adminKey: join(dir, "admin.key"),
    serviceAccountKey: join(dir, "sa.key"),
    serviceAccountPub: join(dir, "sa.pub"),
  };
}

/** Reads a PEM file as base64, the form kubeconfig `*-data` fields take. */
export async function pemAsBase64(path: string): Promise<string> {
  return (await readFile(path)).toString("base64");
}
