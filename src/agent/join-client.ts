// The agent's side of the join protocol: fetch the server CA and pin it against the token's
// hash, then trade CSRs for certificates over a connection that trusts only that CA.
import https from 'node:https';
import { caHash, type JoinToken } from './join-token.js';
import { CACERTS_PATH, NODE_CREDENTIALS_PATH, type NodeJoinRequest, type NodeJoinResponse } from './join-protocol.js';

/** A join failure with a one-line message for the user (the CLI prefixes "skiff agent: "). */
export class JoinError extends Error {
  constructor(
    message: string,
    /** True when trying again later may help (server unreachable or not ready). */
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'JoinError';
  }
}

export const TOKEN_REJECTED = 'the server rejected the join token';
export const CA_MISMATCH = "the server's CA does not match the token";

const REQUEST_TIMEOUT_MS = 15_000;

interface Reply {
  status: number;
  body: Buffer;
}

function request(
  serverUrl: string,
  path: string,
  opts: { method: 'GET' | 'POST'; ca?: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  const base = new URL(serverUrl);
  if (base.protocol !== 'https:') return Promise.reject(new JoinError(`--server must be an https:// URL, not ${serverUrl}`));
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method,
        // Before pinning there is nothing to verify against; the body is checked by hash instead.
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
        headers: { Accept: 'application/json, */*', ...opts.headers },
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (e) => reject(unreachable(serverUrl, e)));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(unreachable(serverUrl, e)));
    req.end(opts.body);
  });
}

function unreachable(serverUrl: string, e: Error & { code?: string }): JoinError {
  if (e instanceof JoinError) return e;
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new JoinError(`the server's certificate is not valid for ${new URL(serverUrl).hostname}: ${e.message}`);
  }
  const tls = e.code?.startsWith('ERR_TLS') || /certificate|self.signed/i.test(e.message);
  if (tls) return new JoinError(`TLS handshake with ${serverUrl} failed: ${e.message}`);
  return new JoinError(`cannot reach the server at ${serverUrl}: ${e.code ?? e.message}`, true);
}

/** Status.message of an error reply, or its first line of text. */
function replyMessage(r: Reply): string {
  const text = r.body.toString('utf8');
  try {
    const s = JSON.parse(text);
    if (typeof s?.message === 'string') return s.message;
  } catch {
    // not JSON
  }
  return text.split('\n', 1)[0].slice(0, 200) || `HTTP ${r.status}`;
}

/**
 * The server CA as the server serves it. With a hash in the token it must match (k3s's CA
 * pinning); a bare token trusts what the server sends (the caller should say so).
 */
export async function fetchServerCa(serverUrl: string, token: JoinToken): Promise<string> {
  const r = await request(serverUrl, CACERTS_PATH, { method: 'GET' });
  if (r.status === 404) throw new JoinError(`${serverUrl} does not serve ${CACERTS_PATH}: is it a skiff server?`);
  if (r.status >= 500) throw new JoinError(`the server is not ready (${r.status}: ${replyMessage(r)})`, true);
  if (r.status !== 200) throw new JoinError(`GET ${CACERTS_PATH} failed (${r.status}): ${replyMessage(r)}`);
  if (token.caHash && caHash(r.body) !== token.caHash) throw new JoinError(CA_MISMATCH);
  const pem = r.body.toString('utf8');
  if (!pem.includes('BEGIN CERTIFICATE')) throw new JoinError(`${CACERTS_PATH} did not return a PEM certificate`);
  return pem;
}

/** POSTs the join request over a connection that trusts only caPem. */
export async function requestNodeCredentials(serverUrl: string, caPem: string, token: JoinToken, body: NodeJoinRequest): Promise<NodeJoinResponse> {
  const r = await request(serverUrl, NODE_CREDENTIALS_PATH, {
    method: 'POST',
    ca: caPem,
    headers: { Authorization: `Bearer ${token.secret}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status === 401) throw new JoinError(TOKEN_REJECTED);
  if (r.status === 404) throw new JoinError(`${serverUrl} does not serve ${NODE_CREDENTIALS_PATH}: is it a skiff server?`);
  if (r.status >= 500) throw new JoinError(`the server could not issue credentials (${r.status}: ${replyMessage(r)})`, r.status === 503);
  if (r.status !== 200) throw new JoinError(`the server refused the join: ${replyMessage(r)}`);
  let out: NodeJoinResponse;
  try {
    out = JSON.parse(r.body.toString('utf8'));
  } catch {
    throw new JoinError('the server sent an unreadable join response');
  }
  for (const k of ['caPem', 'clientCaPem', 'clientCertPem', 'servingCertPem'] as const) {
    if (typeof out?.[k] !== 'string') throw new JoinError(`the server's join response lacks ${k}`);
  }
  if (out.caPem !== caPem) throw new JoinError(CA_MISMATCH);
  return out;
}
