// `skiff kubelet`: the node agent as its own process, talking to the API server through a
// kubeconfig: the kubelet and its HTTPS server (logs, exec, attach, port-forward), started as
// `skiff server` and `skiff agent` start theirs. It starts skiff's containerd under --data-dir
// unless --containerd-socket names a running one. With a kubeconfig from `skiff agent
// --no-kubelet` (<data-dir>/agent/kubelet.kubeconfig), the serving certificate and client CA
// that join issued, next to the kubeconfig, are used unless the TLS flags name others.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_FILES } from '../agent/credentials.js';
import { Client, readKubeconfig, setClientLogger } from '../client/index.js';
import { defaultKubeletLog, startKubeletNode } from '../kubelet/index.js';
import { primaryIPv4 } from '../kubelet/node/host-info.js';
import { DEFAULT_KUBELET_PORT } from '../kubelet/server/server.js';
import { loadKubeletTls } from '../kubelet/server/tls-files.js';
import { exitOnSignals, parseNodeLabels, parseNumberFlag, runCommand } from './flags.js';

const USAGE = `Usage: skiff kubelet --kubeconfig PATH [flags]
  --kubeconfig PATH           how to reach the API server (required)
  --node-name NAME            node name (default: the host name)
  --data-dir DIR              state directory: pods, logs, skiff's containerd (default /var/lib/skiff)
  --node-ip IP                the node's InternalIP (default: the primary IPv4 address)
  --node-labels k=v,...       extra node labels
  --pod-cidr CIDR             pod CIDR when the cluster does not allocate one
  --bridge-name NAME          CNI bridge for this node's pods (default skiff0)
  --pod-manifest-path DIR     static pod manifests
  --containerd-socket PATH    use a running containerd instead of starting one
  --cluster-dns IP,...        DNS server for pods
  --cluster-domain DOMAIN     (default cluster.local)
  --port PORT                 the kubelet server's HTTPS port (default ${DEFAULT_KUBELET_PORT}; 0 picks a free one)
  --address IP                the kubelet server's bind address (default 0.0.0.0)
  --tls-cert-file PATH        serving certificate (default: serving-kubelet.crt next to the kubeconfig, else self-signed)
  --tls-private-key-file PATH its key (default: serving-kubelet.key next to the kubeconfig)
  --client-ca-file PATH       CA of the clients allowed to call (default: client-ca.crt next to the kubeconfig)
  --cert-dir DIR              where a self-signed serving certificate is kept (default DATA_DIR/agent/pki)
  -v                          verbose logging
`;

export function run(argv: string[]): Promise<void> {
  return runCommand('kubelet', start, argv);
}

function parseKubeletArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'node-name': { type: 'string' },
      'data-dir': { type: 'string', default: '/var/lib/skiff' },
      'pod-cidr': { type: 'string' },
      'bridge-name': { type: 'string' },
      'pod-manifest-path': { type: 'string' },
      'containerd-socket': { type: 'string' },
      'node-ip': { type: 'string' },
      'node-labels': { type: 'string' },
      'cluster-dns': { type: 'string' },
      'cluster-domain': { type: 'string' },
      port: { type: 'string' },
      address: { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-private-key-file': { type: 'string' },
      'client-ca-file': { type: 'string' },
      'cert-dir': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
}

/** A file next to the kubeconfig (the agent's credential tree), when it is there. */
function besideKubeconfig(kubeconfig: string, name: string): string | undefined {
  const path = join(dirname(kubeconfig), name);
  return existsSync(path) ? path : undefined;
}

async function start(argv: string[]): Promise<void> {
  let values: ReturnType<typeof parseKubeletArgs>;
  try {
    values = parseKubeletArgs(argv);
  } catch (e) {
    throw new Error(`${(e as Error).message} (see skiff kubelet --help)`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const kubeconfig = values.kubeconfig;
  if (!kubeconfig) throw new Error('--kubeconfig is required (see skiff kubelet --help)');
  const port = parseNumberFlag(values.port, 'port', { nonNegative: true }) ?? DEFAULT_KUBELET_PORT;
  if (!Number.isInteger(port) || port > 65535) throw new Error(`invalid argument "${values.port}" for "port" flag`);
  const nodeName = (values['node-name'] ?? hostname()).toLowerCase();
  const dataDir = values['data-dir']!;
  const nodeIP = values['node-ip'] ?? primaryIPv4();
  const log = defaultKubeletLog(values.verbose);
  setClientLogger((level, msg) => log(level, msg));
  const ca = readKubeconfig(kubeconfig).caPem;

  // Explicit TLS flags win; else the agent tree's files beside the kubeconfig, as a pair.
  const servingCert = besideKubeconfig(kubeconfig, AGENT_FILES.servingCert);
  const servingKey = besideKubeconfig(kubeconfig, AGENT_FILES.servingKey);
  const useAgentPair = !values['tls-cert-file'] && !values['tls-private-key-file'] && servingCert && servingKey;
  const tls = await loadKubeletTls({
    certFile: useAgentPair ? servingCert : values['tls-cert-file'],
    keyFile: useAgentPair ? servingKey : values['tls-private-key-file'],
    clientCaFile: values['client-ca-file'] ?? besideKubeconfig(kubeconfig, AGENT_FILES.clientCa),
    certDir: values['cert-dir'] ?? join(dataDir, 'agent', 'pki'),
    nodeName,
    ips: nodeIP ? [nodeIP] : [],
  });
  for (const w of tls.warnings) log('warning', w);

  const client = new Client({ kubeconfig, component: 'kubelet', qps: 50, burst: 100 });
  let node;
  try {
    node = await startKubeletNode({
      client,
      nodeName,
      dataDir,
      podCIDR: values['pod-cidr'],
      bridgeName: values['bridge-name'],
      podManifestPath: values['pod-manifest-path'],
      containerdSocket: values['containerd-socket'],
      nodeIP: values['node-ip'],
      nodeLabels: parseNodeLabels(values['node-labels']),
      clusterDNS: values['cluster-dns']?.split(',').filter(Boolean),
      clusterDomain: values['cluster-domain'],
      clusterCA: ca ? ca.toString('utf8') : undefined,
      tls,
      port,
      bindAddress: values.address,
      log,
    });
  } catch (e) {
    client.close();
    throw e;
  }
  const kubeletNode = node;
  process.stdout.write(`skiff kubelet: running as node ${nodeName} (kubelet server on port ${kubeletNode.port})\n`);
  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff kubelet: ${signal}, shutting down\n`);
    await kubeletNode.stop();
    client.close();
  });
}
