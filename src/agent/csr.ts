// PKCS#10 certificate requests: the agent keeps its private keys and sends only CSRs; the server
// signs the CSR's public key with a subject and usage it chooses itself (the CSR's own subject
// and extensions are ignored, so a request cannot ask for more than the join grants).
import { x509 } from '../pki/x509.js';
import { generateKeyPair, privateKeyToPem } from '../pki/keys.js';
import type { CertUsage, SigningCa } from '../pki/certs.js';

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
const DAY_MS = 24 * 60 * 60 * 1000;
// Same backdating as src/pki: tolerate a little clock skew between server and node.
const BACKDATE_MS = 5 * 60 * 1000;
/** A CSR is a few hundred bytes; anything much larger is not one. */
const MAX_CSR_PEM = 16 * 1024;

/** A fresh ECDSA P-256 key and a CSR for it. */
export async function createKeyAndCsr(commonName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name([{ CN: [{ utf8String: commonName }] }]),
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  return { keyPem: await privateKeyToPem(keys.privateKey), csrPem: csr.toString('pem') + '\n' };
}

/** Parses a CSR and checks its self-signature (proof the requester holds the key). */
export async function verifiedCsr(csrPem: unknown): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_PEM || !csrPem.includes('CERTIFICATE REQUEST')) {
    throw new Error('not a PEM certificate request');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new Error('unparsable certificate request');
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false; // unsupported key or signature algorithm
  }
  if (!ok) throw new Error('certificate request signature does not verify');
  return csr;
}

export interface CsrGrant {
  commonName: string;
  organizations?: string[];
  usage: CertUsage;
  dnsNames?: string[];
  ips?: string[];
  days: number;
}

const EKU: Record<CertUsage, string[]> = {
  server: [x509.ExtendedKeyUsage.serverAuth],
  client: [x509.ExtendedKeyUsage.clientAuth],
  serverAndClient: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
};

/** Issues a certificate for the CSR's public key with the granted subject, usage and SANs. */
export async function signCsr(ca: SigningCa, csr: x509.Pkcs10CertificateRequest, grant: CsrGrant): Promise<string> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(EKU[grant.usage], false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  const sans = [
    ...(grant.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(grant.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    // O before CN, one attribute per RDN, UTF8String: as src/pki/certs.ts writes subjects.
    subject: new x509.Name([
      ...(grant.organizations ?? []).map((o) => ({ O: [{ utf8String: o }] })),
      { CN: [{ utf8String: grant.commonName }] },
    ]),
    issuer: ca.cert.subjectName,
    publicKey: csr.publicKey,
    signingKey: ca.keys.privateKey,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + grant.days * DAY_MS),
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return cert.toString('pem') + '\n';
}
