// How requests reach the API server: HTTPS with a client certificate from a kubeconfig (separate
// processes), or the in-process transport (components inside `skiff server`), where each
// "socket" is the client end of an in-memory pair served by the API server's handler chain.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { parse as parseYaml } from 'yaml';

/** The identity an in-process connection is authenticated as. */
export interface ClientUser {
  name: string;
  groups: string[];
}

/** Opens an in-process connection authenticated as user (ApiServer.connect). */
export type InProcessConnector = (user: ClientUser) => Duplex;

export interface Transport {
  /** http.request or https.request. */
  request: (options: https.RequestOptions, onResponse: (res: http.IncomingMessage) => void) => http.ClientRequest;
  agent: http.Agent;
  /** Watches hold a connection each for minutes: they get their own unbounded pool so they never starve requests. */
  watchAgent: http.Agent;
  host: string;
  port: number;
  /** Path prefix of the server URL ("" or "/some/prefix"). */
  basePath: string;
  /** Headers sent with every request (e.g. Authorization). */
  headers: Record<string, string>;
  /** TLS server name override (kubeconfig tls-server-name). */
  servername?: string;
  /** Human-readable target, for error messages. */
  describe: string;
  close(): void;
}

/** Upstream's client-go keeps many connections per host; 64 covers informers plus writers. */
const MAX_SOCKETS = 64;

export interface KubeconfigTarget {
  server: string;
  caPem?: Buffer;
  certPem?: Buffer;
  keyPem?: Buffer;
  token?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
}

/** Reads the current context's cluster and user from a kubeconfig file (optionally another context). */
export function readKubeconfig(path: string, context?: string): KubeconfigTarget {
  const doc = parseYaml(readFileSync(path, 'utf8')) ?? {};
  const base = dirname(path);
  const ctxName = context ?? doc['current-context'];
  const named = (list: any[] | undefined, name: string | undefined, what: string) => {
    const items = list ?? [];
    const hit = name === undefined ? items[0] : items.find((x: any) => x?.name === name);
    if (!hit) throw new Error(`kubeconfig ${path}: ${what} "${name ?? ''}" not found`);
    return hit;
  };
  const ctx = named(doc.contexts, ctxName, 'context').context ?? {};
  const cluster = named(doc.clusters, ctx.cluster, 'cluster').cluster ?? {};
  const user = ctx.user !== undefined || doc.users?.length ? named(doc.users, ctx.user, 'user').user ?? {} : {};
  const file = (p: string) => readFileSync(isAbsolute(p) ? p : resolve(base, p));
  const data = (inline: string | undefined, p: string | undefined) =>
    inline ? Buffer.from(inline, 'base64') : p ? file(p) : undefined;
  if (!cluster.server) throw new Error(`kubeconfig ${path}: cluster has no server`);
  return {
    server: cluster.server,
    caPem: data(cluster['certificate-authority-data'], cluster['certificate-authority']),
    certPem: data(user['client-certificate-data'], user['client-certificate']),
    keyPem: data(user['client-key-data'], user['client-key']),
    token: user.token ?? (user.tokenFile ? file(user.tokenFile).toString('utf8').trim() : undefined),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: cluster['tls-server-name'],
  };
}

/** A transport to the server named by a kubeconfig target (HTTPS, or plain HTTP for http:// URLs). */
export function networkTransport(t: KubeconfigTarget): Transport {
  const url = new URL(t.server);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets: MAX_SOCKETS,
        ca: t.caPem,
        cert: t.certPem,
        key: t.keyPem,
        rejectUnauthorized: !t.insecureSkipTlsVerify,
      })
    : new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const watchAgent = secure
    ? new https.Agent({ keepAlive: true, ca: t.caPem, cert: t.certPem, key: t.keyPem, rejectUnauthorized: !t.insecureSkipTlsVerify })
    : new http.Agent({ keepAlive: true });
  const headers: Record<string, string> = {};
  if (t.token) headers.Authorization = `Bearer ${t.token}`;
  return {
    request: secure ? https.request : http.request,
    agent,
    watchAgent,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port) || (secure ? 443 : 80),
    basePath: url.pathname.replace(/\/+$/, ''),
    headers,
    servername: t.tlsServerName,
    describe: url.origin,
    close: () => {
      agent.destroy();
      watchAgent.destroy();
    },
  };
}

/** A transport whose connections come from an in-process connector, authenticated as user. */
export function inProcessTransport(connect: InProcessConnector, user: ClientUser): Transport {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const watchAgent = new http.Agent({ keepAlive: true });
  // Agents normally dial TCP; here every new connection is an in-memory socket pair.
  for (const a of [agent, watchAgent]) (a as unknown as { createConnection: () => Duplex }).createConnection = () => connect(user);
  return {
    request: http.request,
    agent,
    watchAgent,
    host: 'in-process',
    port: 80,
    basePath: '',
    headers: {},
    describe: `in-process (${user.name})`,
    close: () => {
      agent.destroy();
      watchAgent.destroy();
    },
  };
}
