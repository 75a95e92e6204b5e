// The server side of `skiff agent` joining a node, k3s-style: the join token files and the two
// endpoints of src/agent/join-protocol.ts on the API server's HTTPS port. They sit outside the
// Kubernetes API paths and run before Kubernetes authentication: cacerts is public (the CA is
// not secret; the agent checks it against the hash in its token) and node-credentials is
// authenticated by the token's secret alone.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { loadCa, normalizeIp, type SigningCa } from '../pki/certs.js';
import { PRIVATE_MODE, readIfExists, writeFileAtomic } from '../pki/files.js';
import type { ServerPki } from '../pki/index.js';
import { caHash, formatJoinToken, parseJoinToken, randomSecret, secretsEqual } from '../agent/join-token.js';
import { signCsr, verifiedCsr } from '../agent/csr.js';
import {
  CACERTS_PATH,
  KUBE_PROXY_USER,
  NODE_CREDENTIALS_PATH,
  NODE_USER_PREFIX,
  NODES_GROUP,
  type NodeJoinRequest,
  type NodeJoinResponse,
} from '../agent/join-protocol.js';
import { ApiError, badRequest } from './errors.js';
import { readBody, sendError, sendJson, sendRaw } from './http.js';

const CERT_DAYS = 365;
const MAX_JOIN_BODY = 64 * 1024;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Returns the cluster's join token, creating `<dataDir>/server/token` and `server/node-token`
 * (mode 0600) on first start. `explicit` (`skiff server --token`) may be a bare secret or a full
 * K10 token; its hash, if any, must match this server's CA. The hash is re-derived from the
 * current CA, so the files stay correct if the CA is ever replaced.
 */
export function ensureJoinToken(dataDir: string, pki: ServerPki, explicit?: string): string {
  const tokenPath = join(dataDir, 'server', 'token');
  const nodeTokenPath = join(dataDir, 'server', 'node-token');
  const currentHash = caHash(pki.serverCaCertPem);
  let secret: string;
  let user = 'server';
  if (explicit !== undefined && explicit !== '') {
    const parsed = parseJoinToken(explicit);
    if (parsed.caHash && parsed.caHash !== currentHash) throw new Error(`--token: the CA hash in the token does not match this server's CA`);
    secret = parsed.secret;
    user = parsed.user ?? user;
  } else {
    const saved = readIfExists(tokenPath)?.trim();
    const parsed = saved ? parseJoinToken(saved) : undefined;
    secret = parsed?.secret ?? randomSecret();
    user = parsed?.user ?? user;
  }
  const token = formatJoinToken(pki.serverCaCertPem, secret, user);
  for (const path of [tokenPath, nodeTokenPath]) {
    if (readIfExists(path) !== token + '\n') writeFileAtomic(path, token + '\n', PRIVATE_MODE);
  }
  return token;
}

export interface NodeJoinDeps {
  pki: ServerPki;
  /** The token ensureJoinToken returned. */
  token: string;
  /** Where node password hashes are kept (`<dataDir>/server/cred/node-passwd`). */
  dataDir: string;
  /**
   * Whether a Node object of that name exists. When given and false, a name's recorded node
   * password is replaced on join (as k3s drops a node's password secret with the Node), so a
   * deleted node's name can be reused by a new machine.
   */
  nodeExists?: (name: string) => boolean;
}

/**
 * Serves the node-join endpoints. Call it first in the request handler, before Kubernetes
 * authentication; it returns false (and does nothing) for every other path.
 */
export async function handleNodeJoin(req: IncomingMessage, res: ServerResponse, deps: NodeJoinDeps): Promise<boolean> {
  const url = req.url ?? '/';
  if (!url.startsWith('/skiff/')) return false; // the common case: one prefix check per request
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path !== CACERTS_PATH && path !== NODE_CREDENTIALS_PATH) return false;
  try {
    if (path === CACERTS_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method, 'GET');
      sendRaw(res, 200, deps.pki.serverCaCertPem, 'application/x-pem-file');
      return true;
    }
    if (req.method !== 'POST') throw methodNotAllowed(req.method, 'POST');
    checkBearer(req, deps.token);
    const body = await readJoinRequest(req);
    const out = await issueNodeCredentials(deps, body);
    sendJson(res, 200, out);
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `node join failed: ${(e as Error).message}`);
    req.resume();
    sendError(res, err);
  }
  return true;
}

function methodNotAllowed(method: string | undefined, allowed: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `${method} is not supported here; use ${allowed}`);
}

function checkBearer(req: IncomingMessage, token: string): void {
  const auth = req.headers.authorization ?? '';
  const m = /^bearer\s+(\S+)\s*$/i.exec(auth);
  if (!m || !secretsEqual(m[1], parseJoinToken(token).secret)) throw new ApiError(401, 'Unauthorized', 'invalid join token');
}

async function readJoinRequest(req: IncomingMessage): Promise<NodeJoinRequest> {
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, MAX_JOIN_BODY)).toString('utf8'));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest('node join: the request body is not JSON');
  }
  const b = body as Partial<NodeJoinRequest> | null;
  if (!b || typeof b !== 'object') throw badRequest('node join: the request body must be an object');
  if (typeof b.nodeName !== 'string' || b.nodeName.length > 253 || !DNS1123_SUBDOMAIN.test(b.nodeName)) {
    throw badRequest(`node join: nodeName ${JSON.stringify(b.nodeName)} is not a lower-case RFC 1123 subdomain`);
  }
  if (typeof b.nodePassword !== 'string' || b.nodePassword.length < 16 || b.nodePassword.length > 256) {
    throw badRequest('node join: nodePassword must be a string of 16 to 256 characters');
  }
  if (b.nodeIPs !== undefined && (!Array.isArray(b.nodeIPs) || b.nodeIPs.length > 16 || !b.nodeIPs.every((ip) => typeof ip === 'string' && isIP(ip) !== 0))) {
    throw badRequest('node join: nodeIPs must be a list of IP addresses');
  }
  return b as NodeJoinRequest;
}

// Parsed CAs per ServerPki: importing keys costs more than a join's signing.
const signingCas = new WeakMap<ServerPki, Promise<{ server: SigningCa; client: SigningCa }>>();

function casOf(pki: ServerPki): Promise<{ server: SigningCa; client: SigningCa }> {
  let cas = signingCas.get(pki);
  if (!cas) {
    cas = (async () => ({
      server: await loadCa(pki.serverCaCertPem, pki.serverCaKeyPem),
      client: await loadCa(pki.clientCaCertPem, pki.clientCaKeyPem),
    }))();
    signingCas.set(pki, cas);
  }
  return cas;
}

async function csrOrBadRequest(pem: unknown, field: string) {
  try {
    return await verifiedCsr(pem);
  } catch (e) {
    throw badRequest(`node join: ${field}: ${(e as Error).message}`);
  }
}

async function issueNodeCredentials(deps: NodeJoinDeps, body: NodeJoinRequest): Promise<NodeJoinResponse> {
  const clientCsr = await csrOrBadRequest(body.csrPem, 'csrPem');
  const servingCsr = body.servingCsrPem === undefined ? clientCsr : await csrOrBadRequest(body.servingCsrPem, 'servingCsrPem');
  const proxyCsr = body.proxyCsrPem === undefined ? undefined : await csrOrBadRequest(body.proxyCsrPem, 'proxyCsrPem');
  await checkNodePassword(deps, body.nodeName, body.nodePassword);

  const { server, client } = await casOf(deps.pki);
  const name = body.nodeName;
  const clientCertPem = await signCsr(client, clientCsr, {
    commonName: NODE_USER_PREFIX + name,
    organizations: [NODES_GROUP],
    usage: 'client',
    days: CERT_DAYS,
  });
  // The API server reaches a kubelet on its own host over loopback, so those names go in too.
  const servingCertPem = await signCsr(server, servingCsr, {
    commonName: name,
    usage: 'server',
    dnsNames: [...new Set([name, 'localhost'])],
    ips: [...new Set(['127.0.0.1', '::1', ...(body.nodeIPs ?? [])].map(normalizeIp))],
    days: CERT_DAYS,
  });
  const out: NodeJoinResponse = {
    caPem: deps.pki.serverCaCertPem,
    clientCaPem: deps.pki.clientCaCertPem,
    clientCertPem,
    servingCertPem,
  };
  if (proxyCsr) out.proxyCertPem = await signCsr(client, proxyCsr, { commonName: KUBE_PROXY_USER, usage: 'client', days: CERT_DAYS });
  return out;
}

// Joins are rare; one at a time keeps the read-modify-write of the password file simple.
let passwordLock: Promise<unknown> = Promise.resolve();

/** k3s's node-passwd check: the first join of a name records its password's hash; later ones must match. */
function checkNodePassword(deps: NodeJoinDeps, nodeName: string, password: string): Promise<void> {
  const run = passwordLock.then(() => {
    const path = join(deps.dataDir, 'server', 'cred', 'node-passwd');
    let known: Record<string, string> = {};
    try {
      known = JSON.parse(readIfExists(path) ?? '{}');
    } catch {
      throw new ApiError(500, 'InternalError', `node join: ${path} is corrupt`);
    }
    const hash = createHash('sha256').update(password).digest('hex');
    const recorded = known[nodeName];
    if (recorded === hash) return;
    if (recorded !== undefined && (deps.nodeExists?.(nodeName) ?? true)) {
      throw new ApiError(
        403,
        'Forbidden',
        `node password rejected: node "${nodeName}" already joined from another machine (delete the Node, or its entry in ${path}, to reuse the name)`,
      );
    }
    known[nodeName] = hash;
    writeFileAtomic(path, JSON.stringify(known, null, 1) + '\n', PRIVATE_MODE);
  });
  passwordLock = run.catch(() => undefined);
  return run;
}
