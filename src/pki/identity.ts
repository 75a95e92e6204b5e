// Request identity from a verified TLS client certificate, as Kubernetes' x509
// authenticator maps it: CN is the user name, every O is a group.
import type { PeerCertificate } from 'node:tls';

export interface CertUser {
  name: string;
  groups: string[];
}

// Node reports a repeated subject attribute as an array, a single one as a string.
function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * The user for a peer certificate. The caller must have checked that the TLS layer
 * verified the chain (`socket.authorized`); this only reads the subject.
 * Returns undefined when there is no certificate or its CN is empty.
 */
export function userFromPeerCertificate(cert: PeerCertificate | undefined): CertUser | undefined {
  // getPeerCertificate() yields {} (not null) when the client sent no certificate.
  const subject = cert?.subject as unknown as Record<string, string | string[] | undefined> | undefined;
  if (!subject) return undefined;
  const cns = values(subject.CN);
  // Go's pkix keeps the last CN when there are several; do the same.
  const name = cns[cns.length - 1];
  if (!name) return undefined;
  const groups = values(subject.O).filter((g) => g !== '');
  if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
  return { name, groups };
}
