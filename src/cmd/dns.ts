// `skiff dns`: cluster DNS as its own process, against an API server through a kubeconfig
// (`skiff server` runs the same thing in-process). Flags:
//   --kubeconfig PATH          required
//   --listen HOST:PORT         repeatable; default 0.0.0.0:53 (UDP and TCP)
//   --cluster-domain DOMAIN    default cluster.local
//   --upstream IP[:PORT]       repeatable; default: the nameservers of /etc/resolv.conf
//   --ttl SECONDS              default 5
//   --ensure-service IP        also create kube-system/kube-dns with this cluster IP
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { ensureKubeDnsService, startDns } from '../dns/index.js';
import { exitOnSignals, runCommand } from './flags.js';

const USAGE = `Usage: skiff dns --kubeconfig PATH [--listen HOST:PORT ...] [--cluster-domain DOMAIN] [--upstream IP[:PORT] ...] [--ttl SECONDS] [--ensure-service IP]
`;

/** "127.0.0.1:53", "[::1]:53", ":53" (all IPv4 addresses). */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m) throw new Error(`invalid --listen ${JSON.stringify(text)}: want HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid --listen port ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function run(argv: string[]): Promise<void> {
  return runCommand('dns', start, argv);
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'cluster-domain': { type: 'string', default: 'cluster.local' },
      upstream: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '5' },
      'ensure-service': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.kubeconfig) throw new Error(`--kubeconfig is required\n${USAGE}`);
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 0) throw new Error(`invalid --ttl ${values.ttl}`);
  const client = new Client({ kubeconfig: values.kubeconfig, component: 'skiff-dns', qps: 50, burst: 100 });
  if (values['ensure-service']) await ensureKubeDnsService(client, values['ensure-service']);
  const dns = await startDns({
    client,
    listen: (values.listen ?? ['0.0.0.0:53']).map(parseListen),
    clusterDomain: values['cluster-domain'],
    upstream: values.upstream,
    ttl,
  });
  process.stdout.write(`skiff dns: serving ${values['cluster-domain']} on ${dns.addresses.map((a) => `${a.host}:${a.port}`).join(', ')}\n`);

  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff dns: ${signal}, shutting down\n`);
    await dns.stop();
    client.close();
  });
}
