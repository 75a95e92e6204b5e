// `skiff kubelet`: the node agent as its own process, talking to the API server through a
// kubeconfig. It starts skiff's containerd under --data-dir unless --containerd-socket names
// a running one.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Client, readKubeconfig, setClientLogger } from '../client/index.js';
import { defaultKubeletLog, startKubelet } from '../kubelet/index.js';
import { exitOnSignals, parseNodeLabels, runCommand } from './flags.js';

const USAGE = `Usage: skiff kubelet --kubeconfig PATH [--node-name N] [--data-dir DIR] [--pod-cidr CIDR]
                     [--pod-manifest-path DIR] [--containerd-socket PATH] [--node-ip IP]
                     [--node-labels k=v,...] [--cluster-dns IP,...] [--cluster-domain D] [-v]
`;

export function run(argv: string[]): Promise<void> {
  return runCommand('kubelet', start, argv);
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'node-name': { type: 'string' },
      'data-dir': { type: 'string', default: '/var/lib/skiff' },
      'pod-cidr': { type: 'string' },
      'pod-manifest-path': { type: 'string' },
      'containerd-socket': { type: 'string' },
      'node-ip': { type: 'string' },
      'node-labels': { type: 'string' },
      'cluster-dns': { type: 'string' },
      'cluster-domain': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.kubeconfig) throw new Error(`--kubeconfig is required\n${USAGE}`);
  const nodeName = (values['node-name'] ?? hostname()).toLowerCase();
  const log = defaultKubeletLog(values.verbose);
  setClientLogger((level, msg) => log(level, msg));
  const ca = readKubeconfig(values.kubeconfig).caPem;
  const client = new Client({ kubeconfig: values.kubeconfig, component: 'kubelet', qps: 50, burst: 100 });
  const kubelet = await startKubelet({
    client,
    nodeName,
    dataDir: values['data-dir']!,
    podCIDR: values['pod-cidr'],
    podManifestPath: values['pod-manifest-path'],
    containerdSocket: values['containerd-socket'],
    nodeIP: values['node-ip'],
    nodeLabels: parseNodeLabels(values['node-labels']),
    clusterDNS: values['cluster-dns']?.split(',').filter(Boolean),
    clusterDomain: values['cluster-domain'],
    clusterCA: ca ? ca.toString('utf8') : undefined,
    log,
  });
  process.stdout.write(`skiff kubelet: running as node ${nodeName}\n`);
  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff kubelet: ${signal}, shutting down\n`);
    await kubelet.stop();
    client.close();
  });
}
