// The cluster PKI kept under <dataDir>/server/tls, laid out like k3s:
// a server CA (signs serving certs), a separate client CA (signs client certs),
// the API server's serving cert, the admin client cert and the service-account key.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { x509 } from './x509.js';
import { generateKeyPair, privateKeyToPem, publicKeyPemOf } from './keys.js';
import {
  type CertAndKey,
  type SigningCa,
  coversSans,
  createCa,
  isUsableLeaf,
  loadCa,
  normalizeIp,
  signLeaf,
} from './certs.js';
import { PRIVATE_MODE, PUBLIC_MODE, readIfExists, writeFileAtomic } from './files.js';

const CA_DAYS = 3650;
const LEAF_DAYS = 365;
// Leaf certs closer than this to expiry are re-issued on start (k3s renews at 90 days too).
const RENEW_BEFORE_DAYS = 90;

/** Names every API server serving cert carries, on top of the hostname and caller-supplied SANs. */
export const DEFAULT_SERVING_DNS_NAMES = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];
export const DEFAULT_SERVING_IPS = ['127.0.0.1', '::1', '10.96.0.1'];

export const TLS_FILES = {
  serverCaCert: 'server-ca.crt',
  serverCaKey: 'server-ca.key',
  clientCaCert: 'client-ca.crt',
  clientCaKey: 'client-ca.key',
  servingCert: 'serving-kube-apiserver.crt',
  servingKey: 'serving-kube-apiserver.key',
  adminCert: 'client-admin.crt',
  adminKey: 'client-admin.key',
  serviceAccountKey: 'service.key',
} as const;

export interface ServerPki {
  /** Directory holding all files, `${dataDir}/server/tls`. */
  tlsDir: string;
  serverCaCertPem: string;
  serverCaKeyPem: string;
  clientCaCertPem: string;
  clientCaKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  /** ECDSA P-256 private key (PKCS#8 PEM) for signing service-account JWTs (ES256). */
  serviceAccountKeyPem: string;
  /** Its public half (SPKI PEM), for verifying those tokens. */
  serviceAccountPublicKeyPem: string;
  /** SANs the serving cert was checked against on this start. */
  servingDnsNames: string[];
  servingIps: string[];
}

export interface ServerPkiOptions {
  hostnames?: string[];
  ips?: string[];
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/**
 * Loads the CA at `name`, creating it when absent. The key is written before the cert,
 * so "cert without key" means someone deleted the key: refuse rather than silently
 * replacing a CA that existing kubeconfigs trust.
 */
async function ensureCa(dir: string, certFile: string, keyFile: string, cnPrefix: string): Promise<{ ca: SigningCa; created: boolean }> {
  const certPath = join(dir, certFile);
  const keyPath = join(dir, keyFile);
  const certPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (certPem !== undefined) {
    if (keyPem === undefined) throw new Error(`pki: ${certPath} exists but its key ${keyPath} is missing`);
    return { ca: await loadCa(certPem, keyPem), created: false };
  }
  const ca = await createCa(`${cnPrefix}@${Math.floor(Date.now() / 1000)}`, CA_DAYS);
  writeFileAtomic(keyPath, ca.keyPem, PRIVATE_MODE);
  writeFileAtomic(certPath, ca.certPem, PUBLIC_MODE);
  return { ca, created: true };
}

/** Returns the existing leaf pair when `keep` approves it, otherwise issues and writes a new one. */
async function ensureLeaf(
  dir: string,
  certFile: string,
  keyFile: string,
  keep: (cert: x509.X509Certificate) => Promise<boolean>,
  issue: () => Promise<CertAndKey>,
): Promise<CertAndKey> {
  const certPath = join(dir, certFile);
  const keyPath = join(dir, keyFile);
  const certPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (certPem !== undefined && keyPem !== undefined) {
    let ok = false;
    try {
      ok = await keep(new x509.X509Certificate(certPem));
    } catch {
      ok = false; // unparsable cert: re-issue
    }
    if (ok) return { certPem, keyPem };
  }
  const fresh = await issue();
  writeFileAtomic(keyPath, fresh.keyPem, PRIVATE_MODE);
  writeFileAtomic(certPath, fresh.certPem, PUBLIC_MODE);
  return fresh;
}

async function ensureServiceAccountKey(dir: string): Promise<string> {
  const path = join(dir, TLS_FILES.serviceAccountKey);
  const existing = readIfExists(path);
  if (existing !== undefined) return existing;
  const pem = await privateKeyToPem((await generateKeyPair()).privateKey);
  writeFileAtomic(path, pem, PRIVATE_MODE);
  return pem;
}

// Parsed CAs per ServerPki, so issuing many component certs does not re-import keys each time.
const parsedCas = new WeakMap<ServerPki, { server: SigningCa; client: SigningCa }>();

/**
 * Creates (first start) or loads (later starts) the cluster PKI under `${dataDir}/server/tls`.
 * Only leaf certs are ever regenerated: the serving cert when the requested SANs are not
 * covered, and either leaf when it is missing, near expiry, or not signed by the current CA.
 */
export async function ensureServerPki(dataDir: string, opts: ServerPkiOptions = {}): Promise<ServerPki> {
  const dir = join(dataDir, 'server', 'tls');
  const servingDnsNames = unique(
    [...DEFAULT_SERVING_DNS_NAMES, hostname(), ...(opts.hostnames ?? [])].map((h) => h.toLowerCase()).filter((h) => h !== ''),
  );
  const servingIps = unique([...DEFAULT_SERVING_IPS, ...(opts.ips ?? [])].map(normalizeIp));

  const server = await ensureCa(dir, TLS_FILES.serverCaCert, TLS_FILES.serverCaKey, 'skiff-server-ca');
  const client = await ensureCa(dir, TLS_FILES.clientCaCert, TLS_FILES.clientCaKey, 'skiff-client-ca');

  const serving = await ensureLeaf(
    dir,
    TLS_FILES.servingCert,
    TLS_FILES.servingKey,
    async (cert) =>
      !server.created &&
      coversSans(cert, servingDnsNames, servingIps) &&
      (await isUsableLeaf(cert, server.ca, RENEW_BEFORE_DAYS)),
    () =>
      signLeaf(server.ca, {
        commonName: 'kube-apiserver',
        usage: 'server',
        dnsNames: servingDnsNames,
        ips: servingIps,
        days: LEAF_DAYS,
      }),
  );
  const admin = await ensureLeaf(
    dir,
    TLS_FILES.adminCert,
    TLS_FILES.adminKey,
    async (cert) => !client.created && (await isUsableLeaf(cert, client.ca, RENEW_BEFORE_DAYS)),
    () =>
      signLeaf(client.ca, {
        commonName: 'system:admin',
        organizations: ['system:masters'],
        usage: 'client',
        days: LEAF_DAYS,
      }),
  );
  const serviceAccountKeyPem = await ensureServiceAccountKey(dir);

  const pki: ServerPki = {
    tlsDir: dir,
    serverCaCertPem: server.ca.certPem,
    serverCaKeyPem: server.ca.keyPem,
    clientCaCertPem: client.ca.certPem,
    clientCaKeyPem: client.ca.keyPem,
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    serviceAccountKeyPem,
    serviceAccountPublicKeyPem: publicKeyPemOf(serviceAccountKeyPem),
    servingDnsNames,
    servingIps,
  };
  parsedCas.set(pki, { server: server.ca, client: client.ca });
  return pki;
}

async function casOf(pki: ServerPki): Promise<{ server: SigningCa; client: SigningCa }> {
  let cas = parsedCas.get(pki);
  if (!cas) {
    cas = {
      server: await loadCa(pki.serverCaCertPem, pki.serverCaKeyPem),
      client: await loadCa(pki.clientCaCertPem, pki.clientCaKeyPem),
    };
    parsedCas.set(pki, cas);
  }
  return cas;
}

/**
 * Issues a client certificate (signed by the client CA) for a component or user:
 * CN becomes the user name, each group an O, e.g. ("system:node:n1", ["system:nodes"]).
 * Nothing is written to disk.
 */
export async function issueClientCert(
  pki: ServerPki,
  cn: string,
  groups: string[],
  days: number = LEAF_DAYS,
): Promise<{ certPem: string; keyPem: string }> {
  const { client } = await casOf(pki);
  return signLeaf(client, { commonName: cn, organizations: groups, usage: 'client', days });
}

/**
 * Issues a serving certificate signed by the server CA (e.g. for a kubelet's HTTPS endpoint),
 * so clients trusting server-ca.crt accept it. Nothing is written to disk.
 */
export async function issueServingCert(
  pki: ServerPki,
  cn: string,
  sans: { dnsNames?: string[]; ips?: string[] },
  days: number = LEAF_DAYS,
): Promise<{ certPem: string; keyPem: string }> {
  const { server } = await casOf(pki);
  return signLeaf(server, { commonName: cn, usage: 'server', dnsNames: sans.dnsNames, ips: sans.ips, days });
}
