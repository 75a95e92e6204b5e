// The agent's credentials under <dataDir>/agent, named like k3s's agent tree:
//   server-ca.crt  client-ca.crt  client-kubelet.{crt,key}  serving-kubelet.{crt,key}
//   client-kube-proxy.{crt,key}  kubelet.kubeconfig  kubeproxy.kubeconfig  node-password
// Saved credentials are reused across restarts without contacting the server; the agent joins
// again when they are missing, near expiry, for another node name, or for another cluster (the
// token's CA hash differs from the saved CA).
import { join } from 'node:path';
import { x509 } from '../pki/x509.js';
import { coversSans } from '../pki/certs.js';
import { PRIVATE_MODE, PUBLIC_MODE, readIfExists, writeFileAtomic } from '../pki/files.js';
import { writeKubeconfig } from '../pki/kubeconfig.js';
import { createKeyAndCsr } from './csr.js';
import { JoinError, fetchServerCa, requestNodeCredentials } from './join-client.js';
import { KUBE_PROXY_USER, NODE_USER_PREFIX } from './join-protocol.js';
import { caHash, parseJoinToken, randomSecret, type JoinToken } from './join-token.js';

const DAY_MS = 24 * 60 * 60 * 1000;
// Join again when a certificate has less than this left (src/pki renews server leaves at 90 days too).
const RENEW_BEFORE_DAYS = 90;
const RETRY_INTERVAL_MS = 2_000;

export const AGENT_FILES = {
  serverCa: 'server-ca.crt',
  clientCa: 'client-ca.crt',
  kubeletCert: 'client-kubelet.crt',
  kubeletKey: 'client-kubelet.key',
  servingCert: 'serving-kubelet.crt',
  servingKey: 'serving-kubelet.key',
  proxyCert: 'client-kube-proxy.crt',
  proxyKey: 'client-kube-proxy.key',
  kubeletKubeconfig: 'kubelet.kubeconfig',
  proxyKubeconfig: 'kubeproxy.kubeconfig',
  nodePassword: 'node-password',
} as const;

export interface AgentCredentialOptions {
  dataDir: string;
  /** https://HOST:PORT of the API server; also written into the kubeconfigs. */
  serverUrl: string;
  token: string;
  nodeName: string;
  /** IP SANs for the kubelet's serving certificate. */
  nodeIPs?: string[];
  /** Also obtain a kube-proxy client certificate and kubeconfig. */
  withProxy?: boolean;
  /** How long to keep retrying an unreachable or not-ready server (default 120 s; 0: one try). */
  waitMs?: number;
  log?: (msg: string) => void;
}

export interface AgentCredentials {
  agentDir: string;
  kubeletKubeconfig: string;
  proxyKubeconfig?: string;
  serverCaPem: string;
  clientCaPem: string;
  serving: { certPem: string; keyPem: string };
  /** True when this call joined (false: saved credentials were reused). */
  joined: boolean;
}

interface Saved {
  serverCaPem: string;
  clientCaPem: string;
  kubelet: { certPem: string; keyPem: string };
  serving: { certPem: string; keyPem: string };
  proxy?: { certPem: string; keyPem: string };
}

function readPair(dir: string, cert: string, key: string): { certPem: string; keyPem: string } | undefined {
  const certPem = readIfExists(join(dir, cert));
  const keyPem = readIfExists(join(dir, key));
  return certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : undefined;
}

function freshEnough(cert: x509.X509Certificate): boolean {
  return cert.notAfter.getTime() - Date.now() > RENEW_BEFORE_DAYS * DAY_MS;
}

/** Why the saved credentials cannot be reused, or undefined when they can. */
export function staleReason(saved: Partial<Saved>, opts: AgentCredentialOptions, token: JoinToken): string | undefined {
  const { serverCaPem, clientCaPem, kubelet, serving, proxy } = saved;
  if (!serverCaPem || !clientCaPem || !kubelet || !serving) return 'no saved credentials';
  if (opts.withProxy && !proxy) return 'no kube-proxy credentials';
  if (token.caHash && caHash(serverCaPem) !== token.caHash) return 'the saved CA is not the one in the token';
  try {
    const kc = new x509.X509Certificate(kubelet.certPem);
    if (kc.subjectName.getField('CN').at(-1) !== NODE_USER_PREFIX + opts.nodeName) return 'the saved credentials are for another node name';
    if (kc.issuer !== new x509.X509Certificate(clientCaPem).subject) return 'the saved client certificate is not from the saved client CA';
    if (!freshEnough(kc)) return 'the client certificate expires soon';
    const sc = new x509.X509Certificate(serving.certPem);
    if (!freshEnough(sc)) return 'the serving certificate expires soon';
    if (!coversSans(sc, [opts.nodeName], opts.nodeIPs ?? [])) return 'the serving certificate does not cover the node name and IPs';
    if (opts.withProxy && !freshEnough(new x509.X509Certificate(proxy!.certPem))) return 'the kube-proxy certificate expires soon';
  } catch {
    return 'a saved certificate is unreadable';
  }
  return undefined;
}

function nodePassword(agentDir: string): string {
  const path = join(agentDir, AGENT_FILES.nodePassword);
  const existing = readIfExists(path)?.trim();
  if (existing) return existing;
  const pw = randomSecret();
  writeFileAtomic(path, pw + '\n', PRIVATE_MODE);
  return pw;
}

async function withRetry<T>(opts: AgentCredentialOptions, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + (opts.waitMs ?? 120_000);
  let said = false;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof JoinError) || !e.retryable || Date.now() + RETRY_INTERVAL_MS > deadline) throw e;
      if (!said) opts.log?.(`${e.message}; retrying until it answers`);
      said = true;
      await new Promise((r) => setTimeout(r, RETRY_INTERVAL_MS));
    }
  }
}

async function joinCluster(opts: AgentCredentialOptions, token: JoinToken, agentDir: string): Promise<Saved> {
  if (!token.caHash) opts.log?.('warning: the join token has no CA hash, so the server CA is trusted without verification');
  const serverCaPem = await withRetry(opts, () => fetchServerCa(opts.serverUrl, token));
  const kubelet = await createKeyAndCsr(NODE_USER_PREFIX + opts.nodeName);
  const serving = await createKeyAndCsr(opts.nodeName);
  const proxy = opts.withProxy ? await createKeyAndCsr(KUBE_PROXY_USER) : undefined;
  const res = await withRetry(opts, () =>
    requestNodeCredentials(opts.serverUrl, serverCaPem, token, {
      nodeName: opts.nodeName,
      nodePassword: nodePassword(agentDir),
      csrPem: kubelet.csrPem,
      servingCsrPem: serving.csrPem,
      proxyCsrPem: proxy?.csrPem,
      nodeIPs: opts.nodeIPs,
    }),
  );
  if (proxy && !res.proxyCertPem) throw new JoinError("the server's join response lacks proxyCertPem");
  return {
    serverCaPem,
    clientCaPem: res.clientCaPem,
    kubelet: { certPem: res.clientCertPem, keyPem: kubelet.keyPem },
    serving: { certPem: res.servingCertPem, keyPem: serving.keyPem },
    proxy: proxy ? { certPem: res.proxyCertPem!, keyPem: proxy.keyPem } : undefined,
  };
}

function save(agentDir: string, s: Saved): void {
  const pair = (p: { certPem: string; keyPem: string }, cert: string, key: string) => {
    writeFileAtomic(join(agentDir, key), p.keyPem, PRIVATE_MODE);
    writeFileAtomic(join(agentDir, cert), p.certPem, PUBLIC_MODE);
  };
  writeFileAtomic(join(agentDir, AGENT_FILES.serverCa), s.serverCaPem, PUBLIC_MODE);
  writeFileAtomic(join(agentDir, AGENT_FILES.clientCa), s.clientCaPem, PUBLIC_MODE);
  pair(s.kubelet, AGENT_FILES.kubeletCert, AGENT_FILES.kubeletKey);
  pair(s.serving, AGENT_FILES.servingCert, AGENT_FILES.servingKey);
  if (s.proxy) pair(s.proxy, AGENT_FILES.proxyCert, AGENT_FILES.proxyKey);
}

/** Loads usable saved credentials or joins the cluster, then (re)writes the kubeconfigs. */
export async function ensureAgentCredentials(opts: AgentCredentialOptions): Promise<AgentCredentials> {
  const token = parseJoinToken(opts.token);
  const agentDir = join(opts.dataDir, 'agent');
  const loaded: Partial<Saved> = {
    serverCaPem: readIfExists(join(agentDir, AGENT_FILES.serverCa)),
    clientCaPem: readIfExists(join(agentDir, AGENT_FILES.clientCa)),
    kubelet: readPair(agentDir, AGENT_FILES.kubeletCert, AGENT_FILES.kubeletKey),
    serving: readPair(agentDir, AGENT_FILES.servingCert, AGENT_FILES.servingKey),
    proxy: readPair(agentDir, AGENT_FILES.proxyCert, AGENT_FILES.proxyKey),
  };
  const stale = staleReason(loaded, opts, token);
  let saved: Saved;
  if (stale === undefined) saved = loaded as Saved;
  else {
    if (stale !== 'no saved credentials') opts.log?.(`joining again: ${stale}`);
    saved = await joinCluster(opts, token, agentDir);
    save(agentDir, saved);
  }

  const kubeletKubeconfig = join(agentDir, AGENT_FILES.kubeletKubeconfig);
  writeKubeconfig(kubeletKubeconfig, { server: opts.serverUrl, caPem: saved.serverCaPem, ...saved.kubelet });
  let proxyKubeconfig: string | undefined;
  if (opts.withProxy && saved.proxy) {
    proxyKubeconfig = join(agentDir, AGENT_FILES.proxyKubeconfig);
    writeKubeconfig(proxyKubeconfig, { server: opts.serverUrl, caPem: saved.serverCaPem, ...saved.proxy });
  }
  return {
    agentDir,
    kubeletKubeconfig,
    proxyKubeconfig,
    serverCaPem: saved.serverCaPem,
    clientCaPem: saved.clientCaPem,
    serving: saved.serving,
    joined: stale !== undefined,
  };
}
