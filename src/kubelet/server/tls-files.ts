// TLS for a kubelet started on its own (`skiff kubelet`), from files as upstream's kubelet
// takes them (--tls-cert-file, --tls-private-key-file, --client-ca-file). Without a serving
// certificate, one is made self-signed in the cert dir (upstream's kubelet.crt/kubelet.key) and
// reused on later starts; the API server then cannot verify it, so the caller is told.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, signLeaf } from '../../pki/certs.js';
import { PRIVATE_MODE, PUBLIC_MODE, readIfExists, writeFileAtomic } from '../../pki/files.js';
import { x509 } from '../../pki/x509.js';

export const SELF_SIGNED_CERT = 'kubelet.crt';
export const SELF_SIGNED_KEY = 'kubelet.key';
const SELF_SIGNED_DAYS = 365;

export interface KubeletTlsFiles {
  certFile?: string;
  keyFile?: string;
  clientCaFile?: string;
  /** Where a self-signed serving pair is kept when no certFile is given. */
  certDir: string;
  nodeName: string;
  /** IP SANs of a self-signed certificate. */
  ips?: string[];
}

export interface LoadedKubeletTls {
  certPem: string;
  keyPem: string;
  /** Empty when there is no client CA: every caller but /healthz is then refused. */
  clientCaPem: string;
  /** Set when the serving pair was generated here (not signed by the cluster CA). */
  selfSigned?: string;
  /** Things the operator should know (no client CA, self-signed certificate). */
  warnings: string[];
}

function mustRead(path: string, flag: string): string {
  const text = readIfExists(path);
  if (text === undefined) throw new Error(`${flag}: cannot read ${path}`);
  return text;
}

export async function loadKubeletTls(o: KubeletTlsFiles): Promise<LoadedKubeletTls> {
  const warnings: string[] = [];
  if (!!o.certFile !== !!o.keyFile) throw new Error('--tls-cert-file and --tls-private-key-file go together');
  let certPem: string;
  let keyPem: string;
  let selfSigned: string | undefined;
  if (o.certFile && o.keyFile) {
    certPem = mustRead(o.certFile, '--tls-cert-file');
    keyPem = mustRead(o.keyFile, '--tls-private-key-file');
  } else {
    ({ certPem, keyPem } = await selfSignedPair(o));
    selfSigned = join(o.certDir, SELF_SIGNED_CERT);
    warnings.push(`no --tls-cert-file: serving with the self-signed ${selfSigned}, which the API server does not trust (kubectl logs/exec to this node fail)`);
  }
  let clientCaPem = '';
  if (o.clientCaFile) clientCaPem = mustRead(o.clientCaFile, '--client-ca-file');
  else warnings.push('no --client-ca-file: the kubelet server refuses every caller (kubectl logs/exec to this node fail)');
  return { certPem, keyPem, clientCaPem, selfSigned, warnings };
}

/** The saved self-signed pair when it is still good for a month and names this node, else a new one. */
async function selfSignedPair(o: KubeletTlsFiles): Promise<{ certPem: string; keyPem: string }> {
  const certPath = join(o.certDir, SELF_SIGNED_CERT);
  const keyPath = join(o.certDir, SELF_SIGNED_KEY);
  const certPem = readIfExists(certPath);
  const keyPem = readIfExists(keyPath);
  if (certPem && keyPem) {
    try {
      const cert = new x509.X509Certificate(certPem);
      const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
      const names = san?.names.items.map((n) => n.value) ?? [];
      const covers = [o.nodeName, ...(o.ips ?? [])].every((n) => names.includes(n));
      if (covers && cert.notAfter.getTime() - Date.now() > 30 * 24 * 3600_000) return { certPem, keyPem };
    } catch {
      // unreadable: make a new one
    }
  }
  // Upstream's shape: a throwaway CA "<host>-ca@<unix time>" signing "<host>@<unix time>".
  const now = Math.floor(Date.now() / 1000);
  const ca = await createCa(`${o.nodeName}-ca@${now}`, SELF_SIGNED_DAYS);
  const leaf = await signLeaf(ca, {
    commonName: `${o.nodeName}@${now}`,
    usage: 'server',
    dnsNames: [...new Set([o.nodeName, 'localhost'])],
    ips: [...new Set(['127.0.0.1', ...(o.ips ?? [])])],
    days: SELF_SIGNED_DAYS,
  });
  mkdirSync(o.certDir, { recursive: true });
  writeFileAtomic(keyPath, leaf.keyPem, PRIVATE_MODE);
  // The chain (leaf, then its CA) so a client that pins the CA can verify it.
  writeFileAtomic(certPath, leaf.certPem + ca.certPem, PUBLIC_MODE);
  return { certPem: leaf.certPem + ca.certPem, keyPem: leaf.keyPem };
}
