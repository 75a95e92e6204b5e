// `skiff agent`: join this machine to a cluster as a worker node, like `k3s agent`. The join
// token (from the server's <data-dir>/server/node-token) pins the cluster CA and authorizes one
// exchange of CSRs for node credentials; then the kubelet and the service proxy run here.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { kubeDnsServiceIP } from '../dns/kube-dns-service.js';
import { startAgent } from '../agent/index.js';
import { parseJoinToken } from '../agent/join-token.js';
import { parseIptablesBackend } from '../proxy/index.js';
import { exitOnSignals, parseNodeLabels } from './flags.js';

const USAGE = `Usage: skiff agent --server https://HOST:PORT --token TOKEN [flags]
  --server URL             the API server to join (env SKIFF_URL)
  --token TOKEN            join token from the server's <data-dir>/server/node-token (env SKIFF_TOKEN)
  --token-file PATH        read the token from a file instead
  --data-dir DIR           agent state directory (default /var/lib/skiff-agent)
  --node-name NAME         node name (default: the host name)
  --node-ip IP             the node's InternalIP (default: the primary IPv4 address)
  --pod-cidr CIDR          pod CIDR when the cluster does not allocate one
  --bridge-name NAME       CNI bridge for this node's pods (default skiff0; another node on the same host needs its own)
  --node-labels k=v,...    extra node labels
  --cluster-dns IP,...     DNS server for pods (default 10.96.0.10)
  --cluster-domain DOMAIN  (default cluster.local)
  --containerd-socket PATH use a running containerd instead of starting one
  --kubelet-port PORT      the kubelet's HTTPS port (default 10250)
  --disable-kube-proxy     do not run the service proxy
  --iptables-backend B     service proxy backend: auto (the one holding the node's rules), nft, legacy, default (default auto)
  --no-kubelet             only join and write <data-dir>/agent/kubelet.kubeconfig, then exit
  --join-timeout SECONDS   keep retrying an unreachable server this long (default 120)
  -v                       verbose kubelet logging
`;

function parseAgentArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'data-dir': { type: 'string', short: 'd', default: '/var/lib/skiff-agent' },
      'node-name': { type: 'string' },
      'node-ip': { type: 'string' },
      'pod-cidr': { type: 'string' },
      'bridge-name': { type: 'string' },
      'node-labels': { type: 'string' },
      'cluster-dns': { type: 'string' },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
      'containerd-socket': { type: 'string' },
      'kubelet-port': { type: 'string' },
      'disable-kube-proxy': { type: 'boolean', default: false },
      'iptables-backend': { type: 'string', default: 'auto' },
      'no-kubelet': { type: 'boolean', default: false },
      'join-timeout': { type: 'string', default: '120' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
}

function nonNegativeInt(s: string, flag: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw new Error(`invalid ${flag}: ${s}`);
  return n;
}

export async function run(argv: string[]): Promise<void> {
  let values: ReturnType<typeof parseAgentArgs>;
  try {
    values = parseAgentArgs(argv);
  } catch (e) {
    fail(`${(e as Error).message} (see skiff agent --help)`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    await start(values);
  } catch (e) {
    fail((e as Error).message);
  }
}

async function start(values: ReturnType<typeof parseAgentArgs>): Promise<void> {
  const serverUrl = values.server ?? process.env.SKIFF_URL;
  if (!serverUrl) throw new Error('--server is required (see skiff agent --help)');
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new Error(`invalid --server URL: ${serverUrl}`);
  }
  if (url.protocol !== 'https:') throw new Error(`--server must be an https:// URL, not ${serverUrl}`);
  let token = values.token ?? process.env.SKIFF_TOKEN;
  if (values['token-file']) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (e) {
      throw new Error(`cannot read --token-file: ${(e as Error).message}`);
    }
  }
  if (!token) throw new Error('--token or --token-file is required (see skiff agent --help)');
  parseJoinToken(token); // a malformed token fails here, before anything is written
  const nodeName = (values['node-name'] ?? hostname()).toLowerCase();
  const joinOnly = values['no-kubelet']!;

  const agent = await startAgent({
    serverUrl: serverUrl.replace(/\/+$/, ''),
    token,
    dataDir: values['data-dir']!,
    nodeName,
    nodeIP: values['node-ip'],
    podCIDR: values['pod-cidr'],
    bridgeName: values['bridge-name'],
    nodeLabels: parseNodeLabels(values['node-labels']),
    clusterDNS: (values['cluster-dns'] ?? kubeDnsServiceIP()).split(',').filter(Boolean),
    clusterDomain: values['cluster-domain'],
    containerdSocket: values['containerd-socket'],
    kubelet: !joinOnly,
    proxy: !values['disable-kube-proxy'],
    iptablesBackend: parseIptablesBackend(values['iptables-backend']),
    kubeletPort: values['kubelet-port'] === undefined ? undefined : nonNegativeInt(values['kubelet-port'], '--kubelet-port'),
    joinWaitMs: nonNegativeInt(values['join-timeout']!, '--join-timeout') * 1000,
    verbose: values.verbose,
  });
  if (joinOnly) {
    process.stdout.write(`skiff agent: node ${nodeName} credentials in ${agent.credentials.kubeletKubeconfig}\n`);
    return;
  }
  process.stdout.write(`skiff agent: running as node ${nodeName} (server ${serverUrl})\n`);
  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff agent: ${signal}, shutting down\n`);
    await agent.stop();
  });
}

function fail(msg: string): never {
  process.stderr.write(`skiff agent: ${msg.split('\n')[0]}\n`);
  process.exit(1);
}
