// Certificate creation and inspection: CAs, signed leaf certificates, SAN checks.
import { isIP } from 'node:net';
import { x509 } from './x509.js';
import { generateKeyPair, keyPairFromPem, privateKeyToPem } from './keys.js';

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdate notBefore a little so small clock skew between nodes does not make fresh certs "not yet valid".
const BACKDATE_MS = 5 * 60 * 1000;

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** A CA ready for signing: its PEMs plus parsed certificate and keys. */
export interface SigningCa extends CertAndKey {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export type CertUsage = 'server' | 'client' | 'serverAndClient';

export interface LeafRequest {
  commonName: string;
  organizations?: string[];
  usage: CertUsage;
  dnsNames?: string[];
  ips?: string[];
  days: number;
}

function subjectName(commonName: string, organizations: string[] = []): x509.Name {
  // One attribute per RDN, O before CN (the order Go's pkix.Name emits). Explicit
  // UTF8String keeps values like "system:node:x" or "#grp" from being reinterpreted.
  return new x509.Name([
    ...organizations.map((o) => ({ O: [{ utf8String: o }] })),
    { CN: [{ utf8String: commonName }] },
  ]);
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

export async function createCa(commonName: string, days: number): Promise<SigningCa> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subjectName(commonName),
    keys,
    ...validity(days),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString('pem') + '\n', keyPem: await privateKeyToPem(keys.privateKey) };
}

export async function loadCa(certPem: string, keyPem: string): Promise<SigningCa> {
  return { certPem, keyPem, cert: new x509.X509Certificate(certPem), keys: await keyPairFromPem(keyPem) };
}

const EKU: Record<CertUsage, string[]> = {
  server: [x509.ExtendedKeyUsage.serverAuth],
  client: [x509.ExtendedKeyUsage.clientAuth],
  serverAndClient: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
};

export async function signLeaf(ca: SigningCa, req: LeafRequest): Promise<CertAndKey> {
  const keys = await generateKeyPair();
  const cert = await issueLeaf(ca, keys.publicKey, req);
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyToPem(keys.privateKey) };
}

/** A leaf certificate for publicKey (our own key, or a CSR's) with the requested subject, usage and SANs. */
export async function issueLeaf(ca: SigningCa, publicKey: CryptoKey | x509.PublicKey, req: LeafRequest): Promise<x509.X509Certificate> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(EKU[req.usage], false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  const sans = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  return x509.X509CertificateGenerator.create({
    subject: subjectName(req.commonName, req.organizations),
    issuer: ca.cert.subjectName,
    publicKey,
    signingKey: ca.keys.privateKey,
    ...validity(req.days),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions,
  });
}

/** Canonical text of an IP so "::1" and "0:0:0:0:0:0:0:1" compare equal. */
export function normalizeIp(ip: string): string {
  if (isIP(ip) === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return ip;
}

export function subjectAltNames(cert: x509.X509Certificate): { dnsNames: Set<string>; ips: Set<string> } {
  const dnsNames = new Set<string>();
  const ips = new Set<string>();
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const n of ext?.names.items ?? []) {
    if (n.type === 'dns') dnsNames.add(n.value.toLowerCase());
    else if (n.type === 'ip') ips.add(normalizeIp(n.value));
  }
  return { dnsNames, ips };
}

export function coversSans(cert: x509.X509Certificate, dnsNames: string[], ips: string[]): boolean {
  const have = subjectAltNames(cert);
  return dnsNames.every((d) => have.dnsNames.has(d.toLowerCase())) && ips.every((ip) => have.ips.has(normalizeIp(ip)));
}

/** True when the cert was signed by `ca` and stays valid for at least `minRemainingDays`. */
export async function isUsableLeaf(cert: x509.X509Certificate, ca: SigningCa, minRemainingDays: number): Promise<boolean> {
  if (cert.notAfter.getTime() - Date.now() < minRemainingDays * DAY_MS) return false;
  if (cert.issuer !== ca.cert.subject) return false;
  return cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true });
}
