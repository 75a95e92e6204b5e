// `skiff server`: the control plane in one process — store, API server, scheduler, controller
// manager (and, once it lands, a kubelet unless --disable-agent). In-process components
// talk to the API server over the in-process transport, through the full handler chain.
import { parseArgs } from 'node:util';
import { openStore } from '../storage/open.js';
import { startApiServer, type ApiServer } from '../apiserver/server.js';
import { Client } from '../client/index.js';
import { defaultIdentity, startScheduler } from '../scheduler/scheduler.js';
import { startControllerManager } from '../controllers/manager.js';
import { ensureLocalPathStorageClass } from '../controllers/persistentvolume/host-path-provisioner.js';
import { join } from 'node:path';
import { ensureKubeDnsService, kubeDnsServiceIP, startDns } from '../dns/index.js';
import { publishHostDnsEndpoints } from '../dns/host-endpoints.js';
import { startKubeletNode } from '../kubelet/index.js';
import { kubeletServingCert } from '../kubelet/server/certs.js';
import { primaryIPv4 } from '../kubelet/node/host-info.js';
import { parseIptablesBackend, startProxy } from '../proxy/index.js';
import { hostname } from 'node:os';

const USAGE = `Usage: skiff server [flags]
  --data-dir DIR                 state directory (default /var/lib/skiff)
  --https-listen-port PORT       API server port (default 6443)
  --bind-address ADDR            listen address (default 0.0.0.0)
  --write-kubeconfig PATH        admin kubeconfig (default /etc/skiff/skiff.yaml)
  --datastore-endpoint URL       sqlite:///path/file.db | etcd://h1:2379,h2:2379 (default: sqlite in the data dir)
  --service-cidr CIDR            service cluster IPs (default 10.96.0.0/12)
  --service-node-port-range A-B  NodePorts (default 30000-32767)
  --controllers LIST             controllers to run ("*", "name", "-name"; default *)
  --cluster-dns-bind HOST:PORT   cluster DNS listen address (default 0.0.0.0:53)
  --cluster-domain DOMAIN        (default cluster.local)
  --cluster-cidr CIDR            pod addresses, a /24 per node (default 10.42.0.0/16)
  --node-name NAME               this host's node name for the agent (default hostname)
  --iptables-backend B           service proxy backend: auto (the one holding the node's rules), nft, legacy, default (default auto)
  --token TOKEN                  node join token (default: generated into DATA_DIR/server/token)
  --node-monitor-grace-period D  how long a node may miss heartbeats before NotReady (default 40s)
  --metric-resolution D          how often kubelets are scraped for metrics.k8s.io (kubectl top; default 15s; 0: no metrics API)
  --disable-local-storage        no default local-path StorageClass (volumes under DATA_DIR/storage)
  --disable-scheduler, --disable-controller-manager, --disable-dns, --disable-agent
`;

export async function run(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  let parsed;
  try {
    parsed = parseServerArgs(args);
  } catch (e) {
    fail(`${(e as Error).message} (see skiff server --help)`);
  }
  try {
    await serve(parsed.values);
  } catch (e) {
    fail((e as Error).message);
  }
}

function parseServerArgs(args: string[]) {
  return parseArgs({
    args,
    options: {
      'data-dir': { type: 'string', short: 'd', default: '/var/lib/skiff' },
      'https-listen-port': { type: 'string', default: '6443' },
      'bind-address': { type: 'string', default: '0.0.0.0' },
      'write-kubeconfig': { type: 'string', default: '/etc/skiff/skiff.yaml' },
      'datastore-endpoint': { type: 'string' },
      'disable-agent': { type: 'boolean', default: false },
      'disable-scheduler': { type: 'boolean', default: false },
      'disable-controller-manager': { type: 'boolean', default: false },
      controllers: { type: 'string', default: '*' },
      'disable-dns': { type: 'boolean', default: false },
      'disable-local-storage': { type: 'boolean', default: false },
      'cluster-dns-bind': { type: 'string', default: '0.0.0.0:53' },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
      'cluster-cidr': { type: 'string', default: '10.42.0.0/16' },
      'node-name': { type: 'string' },
      'iptables-backend': { type: 'string', default: 'auto' },
      'node-monitor-grace-period': { type: 'string', default: '40s' },
      'metric-resolution': { type: 'string', default: '15s' },
      token: { type: 'string' },
      'service-cidr': { type: 'string', default: '10.96.0.0/12' },
      'service-node-port-range': { type: 'string', default: '30000-32767' },
    },
    strict: true,
  });
}

async function serve(values: ReturnType<typeof parseServerArgs>['values']): Promise<void> {
  const port = Number(values['https-listen-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --https-listen-port: ${values['https-listen-port']}`);
  const dataDir = values['data-dir']!;
  const store = await openStore(values['datastore-endpoint'], dataDir);
  const api = await startApiServer({
    dataDir,
    port,
    bindAddress: values['bind-address'],
    store,
    writeKubeconfig: values['write-kubeconfig'],
    serviceCIDR: values['service-cidr'],
    nodePortRange: values['service-node-port-range'],
    token: values.token ?? process.env.SKIFF_TOKEN,
    metricResolutionMs: parseSeconds(values['metric-resolution']!, 'metric-resolution'),
  });
  const stops: Array<() => Promise<void>> = [];
  if (!values['disable-scheduler']) {
    const scheduler = await startScheduler({
      client: inProcessClient(api, 'system:kube-scheduler', 'skiff-scheduler'),
      identity: defaultIdentity(),
      leaderElect: true,
    });
    stops.push(() => scheduler.stop());
  }
  if (!values['disable-controller-manager']) {
    const cmClient = inProcessClient(api, 'system:kube-controller-manager', 'skiff-controller-manager');
    // k3s's local-storage: the default class, provisioned by the persistentvolume-binder.
    if (!values['disable-local-storage']) await ensureLocalPathStorageClass(cmClient);
    const cm = await startControllerManager({
      client: cmClient,
      controllers: values.controllers!.split(',').map((c) => c.trim()).filter(Boolean),
      identity: defaultIdentity(),
      leaderElect: true,
      options: {
        clusterCIDR: values['cluster-cidr']!,
        nodeMonitorGracePeriodMs: parseSeconds(values['node-monitor-grace-period']!, 'node-monitor-grace-period'),
        storageDir: join(dataDir, 'storage'),
      },
    });
    stops.push(() => cm.stop());
  }
  if (!values['disable-dns']) {
    const client = inProcessClient(api, 'system:serviceaccount:kube-system:coredns', 'skiff-dns');
    await ensureKubeDnsService(client, kubeDnsServiceIP(values['service-cidr']));
    const [host, port] = splitHostPort(values['cluster-dns-bind']!);
    try {
      const dns = await startDns({ client, listen: [{ host, port }], clusterDomain: values['cluster-domain'] });
      stops.push(() => dns.stop());
    } catch (e) {
      // Another resolver may own the port: the control plane still works, pods just lack cluster DNS.
      process.stderr.write(`skiff server: cluster DNS not started on ${values['cluster-dns-bind']}: ${(e as Error).message}\n`);
    }
  }
  if (!values['disable-agent']) {
    // The agent on this host: a kubelet over skiff's containerd and the iptables proxy.
    const nodeName = values['node-name'] ?? hostname().toLowerCase();
    // The kubelet and its :10250 API (logs, exec, attach, port-forward), proxied by the API server.
    const kubeletNode = await startKubeletNode({
      client: inProcessClient(api, `system:node:${nodeName}`, 'skiff-kubelet', ['system:nodes']),
      nodeName,
      dataDir: values['data-dir']!,
      clusterCA: api.pki.serverCaCertPem,
      clusterDNS: [kubeDnsServiceIP(values['service-cidr'])],
      clusterDomain: values['cluster-domain'],
      tls: { ...(await kubeletServingCert(api.pki, nodeName, [primaryIPv4() ?? '127.0.0.1'])), clientCaPem: api.pki.clientCaCertPem },
    });
    stops.push(() => kubeletNode.stop());
    const proxy = await startProxy({
      client: inProcessClient(api, 'system:kube-proxy', 'skiff-proxy'),
      nodeName,
      clusterCIDR: values['cluster-cidr'],
      iptables: parseIptablesBackend(values['iptables-backend']),
    });
    stops.push(() => proxy.stop());
    if (!values['disable-dns']) {
      // Cluster DNS runs in this process: point kube-dns at this node's bridge gateway (the host).
      const dnsPort = splitHostPort(values['cluster-dns-bind']!)[1];
      const stopDnsEndpoints = new AbortController();
      stops.push(async () => stopDnsEndpoints.abort());
      void publishHostDnsEndpoints(inProcessClient(api, 'system:serviceaccount:kube-system:coredns', 'skiff-dns'), nodeName, stopDnsEndpoints.signal, dnsPort).catch((e) =>
        process.stderr.write(`skiff server: kube-dns endpoints: ${(e as Error).message}\n`),
      );
    }
  }
  process.stdout.write(`skiff server: API server listening on ${api.url} (kubeconfig ${values['write-kubeconfig']})\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`skiff server: ${signal}, shutting down\n`);
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await api.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** A client for an in-process component, authenticated as user (upstream's component identities). */
function inProcessClient(api: ApiServer, user: string, component: string, groups: string[] = []): Client {
  return new Client({
    inProcess: { connect: (u) => api.connect(u), user: { name: user, groups: [...groups, 'system:authenticated'] } },
    component,
    qps: 1000,
    burst: 2000,
  });
}

/** "40s", "2m", "500ms" or plain seconds → milliseconds. */
function parseSeconds(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) fail(`invalid --${flag}: ${v}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}

function splitHostPort(hp: string): [string, number] {
  const i = hp.lastIndexOf(':');
  const port = Number(hp.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid address ${JSON.stringify(hp)}: want HOST:PORT`);
  return [hp.slice(0, i).replace(/^\[|\]$/g, ''), port];
}

function fail(msg: string): never {
  process.stderr.write(`skiff server: ${msg}\n`);
  process.exit(1);
}
