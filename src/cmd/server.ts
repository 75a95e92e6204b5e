// `skiff server`: the control plane in one process (API server + store; later the scheduler,
// controllers and a kubelet unless --disable-agent).
import { parseArgs } from 'node:util';
import { openStore } from '../storage/open.js';
import { startApiServer } from '../apiserver/server.js';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string', short: 'd', default: '/var/lib/skiff' },
      'https-listen-port': { type: 'string', default: '6443' },
      'bind-address': { type: 'string', default: '0.0.0.0' },
      'write-kubeconfig': { type: 'string', default: '/etc/skiff/skiff.yaml' },
      'datastore-endpoint': { type: 'string' },
      'disable-agent': { type: 'boolean', default: false },
      'service-cidr': { type: 'string', default: '10.96.0.0/12' },
      'service-node-port-range': { type: 'string', default: '30000-32767' },
    },
    strict: true,
  });
  const port = Number(values['https-listen-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --https-listen-port: ${values['https-listen-port']}`);
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
  });
  process.stdout.write(`skiff server: API server listening on ${api.url} (kubeconfig ${values['write-kubeconfig']})\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`skiff server: ${signal}, shutting down\n`);
    await api.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
