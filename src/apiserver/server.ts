// The API server: HTTPS with client-certificate authentication, routing to discovery, health,
// OpenAPI and the resource handlers. It is the only writer of the store.
import https from 'node:https';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { hostname } from 'node:os';
import { builtinResources } from '../api/registry.js';
import { SYSTEM_PRIORITY_CLASSES } from '../api/scheduling/priorityclass.js';
import type { KObject } from '../api/types.js';
import { ensureServerPki, userFromPeerCertificate, writeKubeconfig, type ServerPki } from '../pki/index.js';
import type { Store } from '../storage/store.js';
import { startCompactor } from '../storage/compactor.js';
import { ApiError, internalError, notFound, unauthorized } from './errors.js';
import { sendError, sendJson, sendRaw } from './http.js';
import { handleResource, type HandlerEnv } from './handlers.js';
import { Discovery, aggregatedDiscoveryVersion } from './discovery.js';
import { parseResourcePath } from './request-info.js';
import { Registry } from './registry.js';
import { toResource, type Resource } from './resource.js';
import { WatchCache } from './watch-cache.js';
import { systemContext, type RequestContext, type UserInfo } from './context.js';
import { patchSupport } from './patch-support.js';
import { serveOpenAPI } from './openapi/index.js';
import { IN_PROCESS_USER, inProcessUser, socketPair } from './in-process.js';
import { ServiceAllocator, firstServiceIP, parseCidr, type NodePortRange } from './service-allocator.js';
import { ServiceAccountTokens } from './service-account-tokens.js';
import { admissionChain, mutatingAdmission, mutatingChain, validatingAdmission } from './admission/index.js';
import { handleUpgrade, kubeletConnection } from './pod-proxy.js';
import { ensureJoinToken, handleNodeJoin } from './node-join.js';
import { advertiseAddress, startKubernetesEndpoints } from './kubernetes-endpoints.js';
import { MetricsService } from '../metrics/service.js';
import { handleMetricsRequest, metricsResourceDefs, METRICS_GROUP, METRICS_VERSION } from '../metrics/api.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4+skiff',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-29T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface ApiServerOptions {
  dataDir: string;
  port: number;
  bindAddress?: string;
  store: Store;
  /** Write an admin kubeconfig here once serving. */
  writeKubeconfig?: string;
  /** Service cluster IP range (default 10.96.0.0/12) and NodePort range (default 30000-32767). */
  serviceCIDR?: string;
  nodePortRange?: string;
  /** Node join token (bare secret or K10 token); generated into the data dir when absent. */
  token?: string;
  /** How often the metrics.k8s.io scraper reads kubelets' /metrics/resource (default 15 s; 0: no metrics API at all). */
  metricResolutionMs?: number;
}

export interface ApiServer {
  url: string;
  port: number;
  pki: ServerPki;
  registry: Registry;
  cache: WatchCache;
  resources: Resource[];
  /**
   * Opens an in-process connection authenticated as user: the client end of a socket pair
   * whose server end is served by the same handler chain as HTTPS requests.
   */
  connect(user: UserInfo): Duplex;
  close(): Promise<void>;
}

const BOOTSTRAP_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const pki = await ensureServerPki(opts.dataDir, { hostnames: [hostname()] });
  const joinToken = ensureJoinToken(opts.dataDir, pki, opts.token);
  const resources = builtinResources.map(toResource);
  const byPath = new Map<string, Resource>(); // "group/version/plural"
  for (const r of resources) byPath.set(`${r.group}/${r.version}/${r.plural}`, r);
  const storages = [...new Set(resources.map((r) => r.storage))];
  const cache = new WatchCache(opts.store, storages);
  await cache.start();
  const patch = patchSupport();
  const registry = new Registry(opts.store, cache, { ...patch.hooks });
  const admissionEnv = { registry, resource: (p: string) => byPath.get(p) };
  registry.hooks.mutate = mutatingChain(mutatingAdmission(admissionEnv));
  registry.hooks.admit = admissionChain(validatingAdmission(admissionEnv));
  const serviceCidr = parseCidr(opts.serviceCIDR ?? '10.96.0.0/12');
  const services = new ServiceAllocator(opts.store, serviceCidr, parsePortRange(opts.nodePortRange ?? '30000-32767'));
  await services.start([...cache.resource('services').items.values()].map((e) => e.obj));
  registry.services = services;
  const core = (plural: string) => byPath.get(`/v1/${plural}`)!;
  const lookup = (plural: string) => (ns: string | undefined, name: string) => registry.entry(core(plural), ns, name)?.obj;
  const tokens = new ServiceAccountTokens(pki.serviceAccountKeyPem, {
    serviceAccount: lookup('serviceaccounts'),
    pod: lookup('pods'),
    secret: lookup('secrets'),
    node: (name) => lookup('nodes')(undefined, name),
  });
  const discovery = new Discovery(
    [...resources, ...(opts.metricResolutionMs === 0 ? [] : metricsResourceDefs.map(toResource))],
    new Map([
      [core('serviceaccounts'), [{ name: 'token', verbs: ['create'], kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } }]],
      [
        core('pods'),
        [
          { name: 'eviction', verbs: ['create'], kind: { group: 'policy', version: 'v1', kind: 'Eviction' } },
          { name: 'log', verbs: ['get'], kind: { group: '', version: 'v1', kind: 'Pod' } },
          { name: 'exec', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodExecOptions' } },
          { name: 'attach', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodAttachOptions' } },
          { name: 'portforward', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' } },
          { name: 'proxy', verbs: ['create', 'delete', 'get', 'patch', 'update'], kind: { group: '', version: 'v1', kind: 'PodProxyOptions' } },
        ],
      ],
      [core('nodes'), [{ name: 'proxy', verbs: ['create', 'delete', 'get', 'patch', 'update'], kind: { group: '', version: 'v1', kind: 'NodeProxyOptions' } }]],
    ]),
  );
  const kubelet = await kubeletConnection(pki);
  const metrics = opts.metricResolutionMs === 0 ? undefined : new MetricsService({ registry, nodes: core('nodes'), pods: core('pods'), kubelet, resolutionMs: opts.metricResolutionMs });
  const env: HandlerEnv = { registry, cache, patch, tokens, kubelet };
  let ready = false;

  await bootstrap(registry, byPath, firstServiceIP(serviceCidr), opts.port || 6443);
  // Keep store history bounded, as kube-apiserver compacts etcd every 5 minutes.
  const compactor = startCompactor(opts.store, { onError: (e) => process.emitWarning(`compaction: ${e.message}`) });

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err) => {
      const apiErr = err instanceof ApiError ? err : internalError(err);
      if (!(err instanceof ApiError)) process.emitWarning(`apiserver: ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
      sendError(res, apiErr);
    });
  };
  const server = https.createServer(
    {
      key: pki.servingKeyPem,
      cert: pki.servingCertPem,
      ca: pki.clientCaCertPem,
      requestCert: true,
      rejectUnauthorized: false,
      keepAliveTimeout: 65_000,
    },
    listener,
  );
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // watches are long-lived
  // exec/attach/portforward arrive as Upgrade requests, which bypass the request handler.
  server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head, { registry, kubelet, authenticate: (r) => authenticate(r, tokens) }));
  // Serves in-process connections (never listens on a port).
  const inProcess = http.createServer({ keepAliveTimeout: 0 }, listener);
  inProcess.requestTimeout = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname;
    const q = url.searchParams;
    // Node join (skiff agent) authenticates with the join token, before Kubernetes authentication.
    if (path.startsWith('/skiff/') && (await handleNodeJoin(req, res, { pki, token: joinToken, dataDir: opts.dataDir, nodeExists: (n) => !!registry.entry(core('nodes'), undefined, n) })))
      return;
    // Health and version are public (upstream's system:public-info-viewer).
    switch (path) {
      case '/healthz':
      case '/livez':
      case '/readyz':
        if (path === '/readyz' && !ready) return sendRaw(res, 500, '[-]informer-sync failed: not ready\nreadyz check failed', 'text/plain');
        return sendRaw(res, 200, 'ok', 'text/plain; charset=utf-8');
      case '/version':
        return sendJson(res, 200, SERVER_VERSION);
    }
    const user = authenticate(req, tokens);
    if (!user) throw unauthorized();
    const ctx: RequestContext = {
      user,
      dryRun: q.getAll('dryRun').includes('All'),
      fieldManager: q.get('fieldManager') ?? managerFromUserAgent(req.headers['user-agent']),
      userAgent: req.headers['user-agent'] ?? '',
    };
    const dry = q.getAll('dryRun').filter((d) => d !== 'All');
    if (dry.length) throw new ApiError(400, 'BadRequest', `dryRun: Unsupported value: "${dry[0]}": supported values: "All"`);

    if (path.startsWith('/openapi/')) {
      const out = serveOpenAPI(path, q, req.headers.accept ?? '', { metrics: !!metrics });
      if (!out) throw notFound('', '', path);
      res.writeHead(out.status, { ...out.headers, 'Content-Length': out.body.length });
      res.end(out.body);
      return;
    }
    const accept = req.headers.accept;
    if (path === '/api' || path === '/api/') {
      const v = aggregatedDiscoveryVersion(accept);
      if (v) return sendAggregated(res, discovery.aggregated(true, v), v);
      return sendJson(res, 200, discovery.coreVersions());
    }
    if (path === '/apis' || path === '/apis/') {
      const v = aggregatedDiscoveryVersion(accept);
      if (v) return sendAggregated(res, discovery.aggregated(false, v), v);
      return sendJson(res, 200, discovery.groupList());
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const list = discovery.resourceList('', parts[1]);
      if (list) return sendJson(res, 200, list);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = discovery.group(parts[1]);
      if (g) return sendJson(res, 200, g);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = discovery.resourceList(parts[1], parts[2]);
      if (list) return sendJson(res, 200, list);
    }
    if (metrics && parts[0] === 'apis' && parts[1] === METRICS_GROUP && parts[2] === METRICS_VERSION && parts.length > 3)
      return handleMetricsRequest(metrics, req, res, parts.slice(3), q);
    const info = parseResourcePath(path);
    if (!info) throw pathNotFound();
    const r = byPath.get(`${info.group}/${info.version}/${info.resource}`);
    if (!r) throw pathNotFound();
    return handleResource(env, ctx, req, res, r, info, q);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bindAddress ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const kubernetesEndpoints = await startKubernetesEndpoints(registry, byPath, { address: advertiseAddress(opts.bindAddress), port });
  const url = `https://127.0.0.1:${port}`;
  if (opts.writeKubeconfig) {
    writeKubeconfig(opts.writeKubeconfig, { server: url, caPem: pki.serverCaCertPem, certPem: pki.adminCertPem, keyPem: pki.adminKeyPem });
  }
  ready = true;

  return {
    url,
    port,
    pki,
    registry,
    cache,
    resources,
    connect(user: UserInfo): Duplex {
      const [client, serverEnd] = socketPair();
      (serverEnd as any)[IN_PROCESS_USER] = user;
      inProcess.emit('connection', serverEnd);
      return client;
    },
    async close() {
      ready = false;
      kubernetesEndpoints.stop();
      metrics?.stop();
      inProcess.closeAllConnections();
      compactor.stop();
      cache.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The identity of each TLS connection, parsed from its client certificate once. */
const connectionUsers = new WeakMap<object, UserInfo | null>();

function authenticate(req: IncomingMessage, tokens: ServiceAccountTokens): UserInfo | undefined {
  const local = inProcessUser(req.socket);
  if (local) return local;
  const auth = req.headers.authorization;
  if (auth && /^bearer /i.test(auth)) return tokens.authenticate(auth.slice(7).trim());
  const sock = req.socket as TLSSocket;
  let user = connectionUsers.get(sock);
  if (user === undefined) {
    user = (sock.authorized && userFromPeerCertificate(sock.getPeerCertificate())) || null;
    connectionUsers.set(sock, user);
  }
  return user ?? undefined;
}

/** Upstream's default field manager: the User-Agent's program name ("kubectl-client-side-apply"). */
export function managerFromUserAgent(ua: string | undefined): string {
  if (!ua) return 'unknown';
  const slash = ua.indexOf('/');
  return (slash >= 0 ? ua.slice(0, slash) : ua).slice(0, 128);
}

function sendAggregated(res: ServerResponse, body: string, v: string): void {
  sendRaw(res, 200, body, `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`, { Vary: 'Accept' });
}

function parsePortRange(text: string): NodePortRange {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!m || +m[1] < 1 || +m[2] > 65535 || +m[1] > +m[2]) throw new Error(`invalid node port range ${JSON.stringify(text)}`);
  return { min: +m[1], max: +m[2] };
}

function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** Creates what every cluster has: the system namespaces and priority classes. */
async function bootstrap(registry: Registry, byPath: Map<string, Resource>, kubernetesIP: string, apiPort: number): Promise<void> {
  const ctx = systemContext('skiff-apiserver');
  const ensure = async (r: Resource | undefined, obj: KObject) => {
    if (!r || registry.entry(r, undefined, obj.metadata!.name!)) return;
    try {
      await registry.create(ctx, r, undefined, obj);
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  };
  for (const name of BOOTSTRAP_NAMESPACES) await ensure(byPath.get('/v1/namespaces'), { metadata: { name } });
  const svc = byPath.get('/v1/services');
  if (svc && !registry.entry(svc, 'default', 'kubernetes')) {
    await registry
      .create(ctx, svc, 'default', {
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', clusterIP: kubernetesIP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiPort }] },
      })
      .catch((e) => {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      });
  }
  for (const pc of SYSTEM_PRIORITY_CLASSES)
    await ensure(byPath.get('scheduling.k8s.io/v1/priorityclasses'), { metadata: { name: pc.name }, value: pc.value, description: pc.description });
}
