// ECDSA P-256 key pairs and their PEM (PKCS#8 / SPKI) encodings.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { crypto, x509 } from './x509.js';

const EC_P256: EcKeyImportParams & EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Imports a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY") as a signing key plus its public half. */
export async function keyPairFromPem(pem: string): Promise<CryptoKeyPair> {
  // Node's KeyObject accepts both PEM flavours; re-export as PKCS#8/SPKI for WebCrypto.
  const pkcs8 = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, EC_P256, true, ['sign']);
  const publicKey = await crypto.subtle.importKey('spki', spki, EC_P256, true, ['verify']);
  return { privateKey, publicKey };
}

/** SPKI PEM ("PUBLIC KEY") of a private key PEM. */
export function publicKeyPemOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}
