// The API server's connect subresources, proxied to the kubelet of the pod's node over HTTPS
// with the API server's kubelet client certificate:
//   pods/log                         GET, streamed (follow keeps streaming)
//   pods/exec, pods/attach           Upgrade (SPDY/3.1 or WebSocket), to the kubelet
//   pods/portforward                 Upgrade, to the kubelet
//   pods/proxy, nodes/proxy          plain HTTP(S) proxy to the pod's IP / the kubelet
// The kubelet passes stream upgrades on to the container runtime's streaming server, which
// (containerd 1.6) speaks SPDY/3.1 and the v1-v4 channel WebSocket protocols. What kubectl
// 1.30+ asks for first is served here, as upstream's API server does (streaming/):
//   WebSocket v5.channel.k8s.io (exec, attach, cp)  translated to SPDY v4 towards the kubelet
//   WebSocket SPDY/3.1+portforward.k8s.io            SPDY tunnelled in WebSocket messages
// Every other upgrade (SPDY clients such as kubectl <= 1.29 or with the WebSockets features
// off, WebSocket v1-v4 clients) is spliced byte for byte to the kubelet and the runtime.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { builtinResources } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { issueClientCert, type ServerPki } from '../pki/index.js';
import { APISERVER_KUBELET_CLIENT_CN, DEFAULT_KUBELET_PORT } from '../kubelet/server/server.js';
import { forwardHeaders, proxyUpgrade, writeRawResponse } from '../kubelet/server/upgrade-proxy.js';
import { translateRemoteCommand } from './streaming/remotecommand-translator.js';
import { tunnelPortForward } from './streaming/portforward-tunnel.js';
import { tunneledSpdyProtocols, wantsRemoteCommandV5 } from './streaming/protocols.js';
import { ApiError, badRequest, internalError, methodNotAllowed, notFound, unauthorized } from './errors.js';
import type { RequestContext, UserInfo } from './context.js';
import type { Registry } from './registry.js';
import { toResource, type Resource } from './resource.js';

/** How the API server reaches kubelets. */
export interface KubeletConnection {
  /** The CA that signed kubelet serving certs, and the API server's client certificate. */
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Where a node's kubelet listens (default: kubeletEndpoint). */
  resolve?: (node: KObject) => { host: string; port: number };
}

/** What the handlers here need from the API server. */
export interface PodProxyEnv {
  registry: Registry;
  kubelet?: KubeletConnection;
}

/** Dependencies of handleUpgrade, which runs outside the normal request chain. */
export interface UpgradeDeps extends PodProxyEnv {
  /** The request's user (client certificate or bearer token), undefined when unauthenticated. */
  authenticate(req: IncomingMessage): UserInfo | undefined;
}

/** Issues the API server's kubelet client certificate from the cluster PKI. */
export async function kubeletConnection(pki: ServerPki): Promise<KubeletConnection> {
  const { certPem, keyPem } = await issueClientCert(pki, APISERVER_KUBELET_CLIENT_CN, ['system:masters']);
  return { caPem: pki.serverCaCertPem, certPem, keyPem };
}

let podsR: Resource | undefined;
let nodesR: Resource | undefined;
function pods(): Resource {
  return (podsR ??= toResource(builtinResources.find((d) => d.group === '' && d.plural === 'pods')!));
}
function nodes(): Resource {
  return (nodesR ??= toResource(builtinResources.find((d) => d.group === '' && d.plural === 'nodes')!));
}

/**
 * Where the kubelet of node listens: its InternalIP (loopback when that address is this machine's own: the kubelet binds all
 * addresses, and local traffic then stays on lo), else its Hostname; the port is
 * status.daemonEndpoints.kubeletEndpoint.Port.
 */
export function kubeletEndpoint(node: KObject): { host: string; port: number } {
  let port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port) || DEFAULT_KUBELET_PORT;
  const addrs: KObject[] = node.status?.addresses ?? [];
  const internal = addrs.find((a) => a.type === 'InternalIP')?.address;
  if (internal) return { host: isLocalAddress(internal) ? '127.0.0.1' : internal, port };
  const hostName = addrs.find((a) => a.type === 'Hostname')?.address;
  return { host: hostName ?? '127.0.0.1', port: (port ||= DEFAULT_KUBELET_PORT) };
}

function isLocalAddress(ip: string): boolean {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.address === ip) return true;
  return ip.startsWith('127.') || ip === '::1';
}

/** Upstream's rules for which container a log/exec/attach request means. */
export function validateContainer(container: string | null, pod: KObject): string {
  const name = pod.metadata?.name;
  const spec = pod.spec ?? {};
  if (!container) {
    const cs: KObject[] = spec.containers ?? [];
    if (cs.length === 1) return cs[0].name;
    if (cs.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    const all = [...(spec.initContainers ?? []), ...cs, ...(spec.ephemeralContainers ?? [])].map((c: KObject) => c.name);
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  const known = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].some((c: KObject) => c.name === container);
  if (!known) throw badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

function kubeletTarget(env: PodProxyEnv, nodeName: string): { host: string; port: number; conn: KubeletConnection } {
  if (!env.kubelet) throw new ApiError(503, 'ServiceUnavailable', 'no kubelet client configured in this API server');
  const node = env.registry.entry(nodes(), undefined, nodeName)?.obj;
  if (!node) throw notFound('', 'nodes', nodeName);
  const { host, port } = (env.kubelet.resolve ?? kubeletEndpoint)(node);
  return { host, port, conn: env.kubelet };
}

function tlsOptions(conn: KubeletConnection): https.RequestOptions {
  return { ca: conn.caPem, cert: conn.certPem, key: conn.keyPem };
}

/**
 * GET pods/{name}/log, pods/{name}/proxy[/...], nodes/{name}/proxy[/...] and the non-Upgrade
 * requests of pods/{name}/exec|attach|portforward (refused: they need a stream upgrade).
 * name may carry a port for proxy ("web:8080", "https:web:8443").
 */
export async function handlePodSubresource(
  env: PodProxyEnv,
  _ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  ns: string | undefined,
  name: string,
  sub: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://apiserver');
  if (r.plural === 'nodes') {
    if (sub !== 'proxy') throw notFound('', `nodes/${sub}`, name);
    return proxyToKubelet(env, req, res, name, subPath(url.pathname, 'proxy') + url.search);
  }
  if (r.plural !== 'pods' || !ns) throw notFound(r.group, `${r.plural}/${sub}`, name);
  if (sub === 'proxy') return proxyToPod(env, req, res, ns, name, subPath(url.pathname, 'proxy') + url.search);
  if (sub === 'log') {
    if (req.method !== 'GET') throw methodNotAllowed();
    return podLog(env, res, ns, name, url.searchParams, req);
  }
  if (sub === 'exec' || sub === 'attach' || sub === 'portforward') {
    env.registry.get(pods(), ns, name); // 404 first, as upstream
    throw badRequest('Upgrade request required');
  }
  throw notFound('', `pods/${sub}`, name);
}

/** The path after ".../{name}/proxy" ("/" when none). */
function subPath(pathname: string, marker: string): string {
  const parts = pathname.split('/');
  const i = parts.indexOf(marker, 4);
  const rest = i >= 0 ? parts.slice(i + 1).join('/') : '';
  return '/' + rest;
}

const LOG_PARAMS = ['follow', 'previous', 'timestamps', 'tailLines', 'limitBytes', 'sinceSeconds', 'sinceTime'];

async function podLog(env: PodProxyEnv, res: ServerResponse, ns: string, name: string, q: URLSearchParams, req: IncomingMessage): Promise<void> {
  const pod = env.registry.get(pods(), ns, name);
  const container = validateContainer(q.get('container'), pod);
  checkLogOptions(name, q);
  const nodeName: string | undefined = pod.spec?.nodeName;
  if (!nodeName) {
    // Not scheduled yet: no logs, and no error (upstream streams nothing).
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end();
    return;
  }
  const { host, port, conn } = kubeletTarget(env, nodeName);
  const params = new URLSearchParams();
  for (const p of LOG_PARAMS) {
    const v = q.get(p);
    if (v !== null && v !== '') params.set(p, v);
  }
  const path = `/containerLogs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}${params.size ? `?${params}` : ''}`;
  await new Promise<void>((resolve, reject) => {
    const out = https.request({ host, port, path, method: 'GET', agent: false, ...tlsOptions(conn) }, (kres) => {
      const code = kres.statusCode ?? 500;
      if (code >= 200 && code <= 206) {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
        kres.pipe(res);
        kres.on('end', resolve);
        kres.on('error', () => {
          res.destroy();
          resolve();
        });
        return;
      }
      readAll(kres).then((body) => reject(kubeletError(code, body.toString('utf8').trim(), name)), reject);
    });
    out.on('error', (e) => reject(internalError(new Error(`Get "https://${host}:${port}${path.split('?')[0]}": ${e.message}`))));
    // The client going away ends the follow at the kubelet too.
    res.on('close', () => {
      out.destroy();
      resolve();
    });
    req.on('aborted', () => out.destroy());
    out.end();
  });
}

function checkLogOptions(name: string, q: URLSearchParams): void {
  const invalid = (field: string, value: string, why: string) =>
    new ApiError(422, 'Invalid', `PodLogOptions "${name}" is invalid: ${field}: Invalid value: ${value}: ${why}`);
  const num = (p: string) => (q.get(p) === null || q.get(p) === '' ? undefined : Number(q.get(p)));
  const tail = num('tailLines');
  if (tail !== undefined && !(tail >= 0)) throw invalid('tailLines', q.get('tailLines')!, 'must be greater than or equal to 0');
  const limit = num('limitBytes');
  if (limit !== undefined && !(limit >= 1)) throw invalid('limitBytes', q.get('limitBytes')!, 'must be greater than 0');
  const since = num('sinceSeconds');
  if (since !== undefined && !(since >= 1)) throw invalid('sinceSeconds', q.get('sinceSeconds')!, 'must be greater than 0');
  if (since !== undefined && q.get('sinceTime')) throw new ApiError(422, 'Invalid', `PodLogOptions "${name}" is invalid: : Forbidden: at most one of \`sinceTime\` or \`sinceSeconds\` may be specified`);
}

/** A kubelet error answer as a Status, as upstream's response checker maps it. */
function kubeletError(code: number, body: string, name: string): ApiError {
  if (code === 400) return badRequest(body);
  if (code === 500) return internalError(new Error(body));
  if (code === 404) return new ApiError(404, 'NotFound', body || `pods/log "${name}" not found`, { name, kind: 'pods/log' });
  if (code === 401 || code === 403) return new ApiError(code, code === 401 ? 'Unauthorized' : 'Forbidden', body);
  return new ApiError(code, 'InternalError', body || `an error on the server ("unknown") has prevented the request from succeeding`);
}

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

/** "web", "web:8080", "https:web:8443" → scheme, name, port */
function parseProxyName(raw: string): { scheme: 'http' | 'https'; name: string; port: string } {
  const parts = raw.split(':');
  if (parts.length === 3) return { scheme: parts[0] === 'https' ? 'https' : 'http', name: parts[1], port: parts[2] };
  if (parts.length === 2) return { scheme: 'http', name: parts[0], port: parts[1] };
  return { scheme: 'http', name: raw, port: '' };
}

async function proxyToPod(env: PodProxyEnv, req: IncomingMessage, res: ServerResponse, ns: string, rawName: string, path: string): Promise<void> {
  const { scheme, name, port } = parseProxyName(rawName);
  const pod = env.registry.get(pods(), ns, name);
  const ip: string | undefined = pod.status?.podIP;
  if (!ip) throw new ApiError(503, 'ServiceUnavailable', `address not allowed`);
  let p = port;
  if (!p || !/^\d+$/.test(p)) {
    // A named port, or the first declared one.
    const cports: KObject[] = (pod.spec?.containers ?? []).flatMap((c: KObject) => c.ports ?? []);
    const found = p ? cports.find((cp) => cp.name === p) : cports[0];
    p = found ? String(found.containerPort) : '80';
  }
  await relay(req, res, scheme === 'https' ? https : http, { host: ip, port: Number(p), path, rejectUnauthorized: false });
}

async function proxyToKubelet(env: PodProxyEnv, req: IncomingMessage, res: ServerResponse, nodeName: string, path: string): Promise<void> {
  const { host, port, conn } = kubeletTarget(env, nodeName);
  await relay(req, res, https, { host, port, path, ...tlsOptions(conn) });
}

/** One HTTP request passed through, body streamed both ways. */
function relay(req: IncomingMessage, res: ServerResponse, lib: typeof http | typeof https, target: https.RequestOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const host = `${target.host}:${target.port}`;
    const out = lib.request(
      { ...target, method: req.method, agent: false, headers: forwardHeaders(req, host, ['connection', 'upgrade']) as unknown as http.OutgoingHttpHeaders },
      (pres) => {
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(pres.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') headers[k] = v;
        res.writeHead(pres.statusCode ?? 502, headers);
        pres.pipe(res);
        pres.on('end', resolve);
        pres.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    out.on('error', (e) => reject(new ApiError(503, 'ServiceUnavailable', `error trying to reach service: ${e.message}`)));
    res.on('close', () => {
      out.destroy();
      resolve();
    });
    req.pipe(out);
  });
}

/**
 * Node's HTTPS server emits 'upgrade' (not 'request') for Connection: Upgrade requests; this
 * serves those for pods/{exec,attach,portforward,proxy} and nodes/{proxy}. Anything else gets
 * a 404 Status. Errors are written as Status JSON on the raw socket.
 */
export function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, deps: UpgradeDeps): void {
  socket.on('error', () => undefined);
  try {
    upgrade(req, socket, head, deps);
  } catch (e) {
    const err = e instanceof ApiError ? e : internalError(e as Error);
    writeRawResponse(socket, err.code, { 'Content-Type': 'application/json' }, JSON.stringify(err.toStatus()));
  }
}

function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, deps: UpgradeDeps): void {
  const url = new URL(req.url ?? '/', 'https://apiserver');
  if (!deps.authenticate(req)) throw unauthorized();
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  // /api/v1/namespaces/{ns}/pods/{name}/{sub}[/...]   or   /api/v1/nodes/{name}/proxy[/...]
  if (parts[0] !== 'api' || parts[1] !== 'v1') throw notFoundPath();
  if (parts[2] === 'nodes' && parts[4] === 'proxy') {
    const { host, port, conn } = kubeletTarget(deps, parts[3]);
    return proxyUpgrade(req, socket, head, { url: new URL(`https://${host}:${port}${subPath(url.pathname, 'proxy')}${url.search}`), tls: { ca: conn.caPem, cert: conn.certPem, key: conn.keyPem } }, errorsAsStatus());
  }
  if (parts[2] !== 'namespaces' || parts[4] !== 'pods' || parts.length < 7) throw notFoundPath();
  const ns = parts[3];
  const sub = parts[6];
  if (sub === 'proxy') {
    const { scheme, name, port } = parseProxyName(parts[5]);
    const pod = deps.registry.get(pods(), ns, name);
    if (!pod.status?.podIP) throw new ApiError(503, 'ServiceUnavailable', 'address not allowed');
    const target = new URL(`${scheme}://${pod.status.podIP}:${port || 80}${subPath(url.pathname, 'proxy')}${url.search}`);
    return proxyUpgrade(req, socket, head, { url: target }, errorsAsStatus());
  }
  const name = parts[5];
  const pod = deps.registry.get(pods(), ns, name);
  if (parts.length !== 7 || (sub !== 'exec' && sub !== 'attach' && sub !== 'portforward')) throw notFound('', `pods/${sub}`, name);
  const nodeName: string | undefined = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const q = url.searchParams;
  const params = new URLSearchParams();
  let path: string;
  if (sub === 'portforward') {
    for (const p of q.getAll('ports')) params.append('port', p);
    path = `/portForward/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  } else {
    const container = validateContainer(q.get('container'), pod);
    // The kubelet's names for the stream flags (upstream: input, output, error, tty).
    if (flag(q, 'stdin')) params.set('input', '1');
    if (flag(q, 'stdout')) params.set('output', '1');
    if (flag(q, 'stderr')) params.set('error', '1');
    if (flag(q, 'tty')) params.set('tty', '1');
    if (sub === 'exec') {
      const cmd = q.getAll('command');
      if (!cmd.length) throw badRequest('you must specify at least 1 command');
      for (const c of cmd) params.append('command', c);
    }
    path = `/${sub}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`;
  }
  const { host, port, conn } = kubeletTarget(deps, nodeName);
  const target = { url: new URL(`https://${host}:${port}${path}${params.size ? `?${params}` : ''}`), tls: { ca: conn.caPem, cert: conn.certPem, key: conn.keyPem } };
  if (sub === 'portforward' && tunneledSpdyProtocols(req).length) return tunnelPortForward(req, socket, head, target, errorsAsStatus());
  if (sub !== 'portforward' && wantsRemoteCommandV5(req)) {
    const streams = { stdin: params.has('input'), stdout: params.has('output'), stderr: params.has('error'), tty: params.has('tty') };
    return translateRemoteCommand(req, socket, head, target, streams);
  }
  proxyUpgrade(req, socket, head, target, errorsAsStatus());
}

function errorsAsStatus() {
  return {
    onError: (e: Error) => {
      const err = new ApiError(500, 'InternalError', `error dialing backend: ${e.message}`);
      return { status: 500, contentType: 'application/json', body: JSON.stringify(err.toStatus()) };
    },
  };
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}
