// The kubelet's HTTPS API (port 10250), the part the API server calls for `kubectl logs`,
// `exec`, `attach`, `port-forward` and nodes/proxy:
//   GET  /healthz
//   GET  /pods                                      (PodList of the pods bound here)
//   GET  /containerLogs/{ns}/{pod}/{container}      ?follow&tailLines&timestamps&sinceSeconds&sinceTime&previous&limitBytes
//   GET|POST /exec/{ns}/{pod}[/{uid}]/{container}   ?command=..&stdin&stdout&stderr&tty   (Upgrade)
//   GET|POST /attach/{ns}/{pod}[/{uid}]/{container} ?stdin&stdout&stderr&tty              (Upgrade)
//   GET|POST /portForward/{ns}/{pod}[/{uid}]                                              (Upgrade)
//   GET  /metrics/resource, /stats/summary          (resource usage, from src/kubelet/stats)
// Exec, attach and port-forward ask the runtime (CRI Exec/Attach/PortForward) for a URL on its
// streaming server and reverse proxy the client's Upgrade request there, so the stream
// protocol (SPDY/3.1 or WebSocket) is spoken by the client and the runtime directly.
// Clients authenticate with a certificate from the cluster's client CA; only the API server's
// kubelet-client identity (and system:masters) may call.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { KObject } from '../../client/index.js';
import { userFromPeerCertificate } from '../../pki/identity.js';
import type { CriClient } from '../cri/client.js';
import type { KubeletLog } from '../log.js';
import { isMirrorPod } from '../pods/labels.js';
import { readCriLog, type LogReadOptions } from '../logs/reader.js';
import { CriRuntime } from '../runtime/cri-runtime.js';
import type { KubeletRuntime } from '../runtime/types.js';
import {
  checkPodContainer,
  KubeletHttpError,
  logContainerFromRuntime,
  logContainerFromStatus,
  readySandbox,
  runningContainer,
} from './containers.js';
import { proxyUpgrade, writeRawResponse } from './upgrade-proxy.js';
import { criStatsProvider, type StatsProvider } from '../stats/provider.js';
import { PROMETHEUS_TEXT_TYPE, renderResourceMetrics } from '../stats/resource-metrics.js';
import { statsSummary } from '../stats/summary.js';

/** The client certificate CN the API server uses towards kubelets (upstream's kubeadm name). */
export const APISERVER_KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';
export const DEFAULT_KUBELET_PORT = 10250;

/** What the server needs from the runtime: lookups plus the CRI streaming calls. */
export interface StreamingRuntime extends Pick<KubeletRuntime, 'listContainers' | 'listPodSandboxes' | 'containerStatus'> {
  exec(req: { containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): Promise<string>;
  attach(req: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): Promise<string>;
  portForward(podSandboxId: string, ports: number[]): Promise<string>;
  /** Resource usage for /metrics/resource and /stats/summary (404 without). */
  stats?: StatsProvider;
}

/** A StreamingRuntime over the CRI client (containerd). */
export function criStreamingRuntime(cri: CriClient): StreamingRuntime {
  const rt = new CriRuntime(cri);
  return {
    listContainers: (f) => rt.listContainers(f),
    listPodSandboxes: (f) => rt.listPodSandboxes(f),
    containerStatus: (id) => rt.containerStatus(id),
    exec: (req) => cri.runtime.exec(req),
    attach: (req) => cri.runtime.attach(req),
    portForward: (id, ports) => cri.runtime.portForward(id, ports),
    stats: criStatsProvider(cri.runtime),
  };
}

export interface KubeletServerOptions {
  nodeName: string;
  runtime: StreamingRuntime;
  /** The serving certificate (signed by the cluster's server CA) and the client CA to verify callers with. */
  tls: { certPem: string; keyPem: string; clientCaPem: string };
  /**
   * The pod as the kubelet knows it (spec and status), for upstream's checks and messages.
   * Without it, containers are found by their CRI labels alone.
   */
  getPod?: (namespace: string, name: string) => KObject | undefined | Promise<KObject | undefined>;
  /** The pods bound to this node, for GET /pods. */
  listPods?: () => KObject[] | Promise<KObject[]>;
  /** Client certificate users allowed to call (default: the API server's kubelet client). */
  allowedUsers?: string[];
  /** Default 10250; 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0 (the node's InternalIP and loopback both reach it). */
  bindAddress?: string;
  log?: KubeletLog;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const rt = opts.runtime;
  const allowed = new Set(opts.allowedUsers ?? [APISERVER_KUBELET_CLIENT_CN, 'system:kube-apiserver-kubelet-client']);
  const log = opts.log ?? (() => undefined);
  const sockets = new Set<Duplex>();

  /** undefined when allowed; else the status and message to refuse with. */
  const authorize = (req: IncomingMessage, what: string): [number, string] | undefined => {
    const sock = req.socket as TLSSocket;
    const user = sock.authorized ? userFromPeerCertificate(sock.getPeerCertificate()) : undefined;
    if (!user) return [401, 'Unauthorized'];
    if (allowed.has(user.name) || user.groups.includes('system:masters')) return undefined;
    return [403, `Forbidden (user=${user.name}, verb=${req.method === 'GET' ? 'get' : 'create'}, resource=nodes, subresource(s)=[${what}])\n`];
  };

  const podOf = async (ns: string, name: string): Promise<KObject | undefined> => {
    if (!opts.getPod) return undefined;
    const pod = await opts.getPod(ns, name);
    if (pod && pod.spec?.nodeName && pod.spec.nodeName !== opts.nodeName) return undefined;
    return pod;
  };
  /** The uid on the runtime's labels (a mirror pod's differs from its static pod's). */
  const labelUid = (pod: KObject | undefined, fromPath?: string) => fromPath ?? (pod && !isMirrorPod(pod) ? pod.metadata?.uid : undefined);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (url.pathname === '/healthz') return sendText(res, 200, 'ok');
    const denied = authorize(req, 'proxy');
    if (denied) return sendText(res, denied[0], denied[1]);
    switch (parts[0]) {
      case 'pods':
        if (parts.length !== 1 || req.method !== 'GET') break;
        return sendJsonBody(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: (await opts.listPods?.()) ?? [] });
      case 'containerLogs':
        if (parts.length !== 4 || req.method !== 'GET') break;
        return containerLogs(req, res, parts[1], parts[2], parts[3], url.searchParams);
      case 'exec':
      case 'attach':
      case 'portForward':
        return sendText(res, 400, 'Upgrade request required');
      case 'metrics':
      case 'stats': {
        const path = parts.join('/');
        if (!rt.stats || req.method !== 'GET' || (path !== 'metrics/resource' && path !== 'stats/summary')) break;
        if (path === 'stats/summary') return sendJsonBody(res, statsSummary(opts.nodeName, await rt.stats.resourceStats()));
        const stats = await rt.stats.resourceStats().catch((e: Error) => void log('warning', `resource metrics: ${e.message}`));
        const body = Buffer.from(renderResourceMetrics(stats ?? undefined));
        res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_TYPE, 'Content-Length': body.length });
        return void res.end(body);
      }
    }
    sendText(res, 404, '404 page not found\n');
  }

  async function containerLogs(req: IncomingMessage, res: ServerResponse, ns: string, podName: string, container: string, q: URLSearchParams): Promise<void> {
    const previous = flag(q, 'previous');
    const follow = flag(q, 'follow');
    const read: LogReadOptions = { follow, timestamps: flag(q, 'timestamps') };
    const tail = q.get('tailLines');
    if (tail !== null && tail !== '') read.tailLines = Math.max(0, Number(tail) | 0);
    const limit = q.get('limitBytes');
    if (limit !== null && limit !== '') read.limitBytes = Number(limit);
    const sinceSeconds = q.get('sinceSeconds');
    const sinceTime = q.get('sinceTime');
    if (sinceSeconds) read.sinceMs = Date.now() - Number(sinceSeconds) * 1000;
    else if (sinceTime) read.sinceMs = Date.parse(sinceTime);

    let id: string;
    if (opts.getPod) {
      const pod = await podOf(ns, podName);
      checkPodContainer(pod, podName, container);
      id = logContainerFromStatus(pod!, container, previous);
    } else id = await logContainerFromRuntime(rt, ns, podName, container, previous);
    const status = await rt.containerStatus(id);
    if (!status?.logPath) throw new KubeletHttpError(400, `failed to get container status for "${container}": container ${id} not found`);
    res.writeHead(200, { 'Content-Type': TEXT, 'Transfer-Encoding': 'chunked' });
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      await readCriLog(status.logPath, read, res, {
        signal: abort.signal,
        isRunning: async () => (await rt.containerStatus(id))?.state === 'CONTAINER_RUNNING',
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      log('warning', `logs of ${ns}/${podName}/${container}: ${(e as Error).message}`);
    }
    res.end();
  }

  /** Exec, attach and port-forward: get the runtime's stream URL and splice the upgraded connection to it. */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const denied = authorize(req, 'proxy');
    if (denied) return writeRawResponse(socket, denied[0], { 'Content-Type': TEXT }, denied[1]);
    const q = url.searchParams;
    const kind = parts[0];
    let streamUrl: string;
    if ((kind === 'exec' || kind === 'attach') && (parts.length === 4 || parts.length === 5)) {
      const [ns, podName] = [parts[1], parts[2]];
      const container = parts[parts.length - 1];
      const pod = await podOf(ns, podName);
      if (opts.getPod && !pod) throw new KubeletHttpError(404, 'pod does not exist');
      const id = await runningContainer(rt, ns, podName, container, labelUid(pod, parts.length === 5 ? parts[3] : undefined));
      const io = { tty: flag(q, 'tty'), stdin: flag(q, 'input') || flag(q, 'stdin'), stdout: flag(q, 'output') || flag(q, 'stdout'), stderr: flag(q, 'error') || flag(q, 'stderr') };
      if (kind === 'exec') {
        const cmd = q.getAll('command');
        if (!cmd.length) throw new KubeletHttpError(400, 'you must specify at least 1 command');
        streamUrl = await rt.exec({ containerId: id, cmd, ...io });
      } else streamUrl = await rt.attach({ containerId: id, ...io });
    } else if (kind === 'portForward' && (parts.length === 3 || parts.length === 4)) {
      const [ns, podName] = [parts[1], parts[2]];
      const pod = await podOf(ns, podName);
      if (opts.getPod && !pod) throw new KubeletHttpError(404, 'pod does not exist');
      const sandbox = await readySandbox(rt, ns, podName, labelUid(pod, parts[3]));
      const ports = q.getAll('port').flatMap((p) => p.split(',')).map(Number).filter((p) => p > 0 && p < 65536);
      streamUrl = await rt.portForward(sandbox.id, ports);
    } else throw new KubeletHttpError(404, '404 page not found\n');
    log('debug', `${kind} ${url.pathname}: streaming via ${new URL(streamUrl).origin}`);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    proxyUpgrade(req, socket, head, { url: new URL(streamUrl) });
  }

  const server = https.createServer(
    { key: opts.tls.keyPem, cert: opts.tls.certPem, ca: opts.tls.clientCaPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      handle(req, res).catch((e) => {
        const [status, msg] = errorOf(e);
        if (status >= 500) log('warning', `kubelet server: ${req.method} ${req.url}: ${msg}`);
        if (res.headersSent) res.destroy();
        else sendText(res, status, msg);
      });
    },
  );
  server.requestTimeout = 0; // log follows are long-lived
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    upgrade(req, socket, head).catch((e) => {
      const [status, msg] = errorOf(e);
      if (status >= 500) log('warning', `kubelet server: ${req.method} ${req.url}: ${msg}`);
      writeRawResponse(socket, status, { 'Content-Type': TEXT }, msg);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_KUBELET_PORT, opts.bindAddress ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? DEFAULT_KUBELET_PORT);
  log('info', `kubelet server listening on ${opts.bindAddress ?? '0.0.0.0'}:${port}`);
  return {
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1' || v === 'True';
}

function errorOf(e: unknown): [number, string] {
  if (e instanceof KubeletHttpError) return [e.status, e.message];
  return [500, (e as Error)?.message ?? String(e)];
}

function sendText(res: ServerResponse, status: number, body: string): void {
  const buf = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': TEXT, 'Content-Length': buf.length });
  res.end(buf);
}

function sendJsonBody(res: ServerResponse, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': buf.length });
  res.end(buf);
}
