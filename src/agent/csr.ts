// PKCS#10 certificate requests: the agent keeps its private keys and sends only CSRs; the server
// signs the CSR's public key with a subject and usage it chooses itself (the CSR's own subject
// and extensions are ignored, so a request cannot ask for more than the join grants).
import { x509 } from '../pki/x509.js';
import { generateKeyPair, privateKeyToPem } from '../pki/keys.js';
import { issueLeaf, type LeafRequest, type SigningCa } from '../pki/certs.js';

const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
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

/** What the server grants a CSR: the subject, usage and SANs of a leaf certificate. */
export type CsrGrant = LeafRequest;

/** Issues a certificate for the CSR's public key with the granted subject, usage and SANs. */
export async function signCsr(ca: SigningCa, csr: x509.Pkcs10CertificateRequest, grant: CsrGrant): Promise<string> {
  return (await issueLeaf(ca, csr.publicKey, grant)).toString('pem') + '\n';
}
