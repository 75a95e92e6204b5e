// `skiff proxy`: kube-proxy in iptables mode as its own process. Flags follow kube-proxy's where
// they exist (--kubeconfig, --hostname-override, --cluster-cidr, --masquerade-all,
// --iptables-min-sync-period, --iptables-sync-period, --cleanup).
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { cleanupProxyRules, parseIptablesBackend, startProxy, type IptablesFlavor } from '../proxy/index.js';
import { exitOnSignals, goDurationMs, runCommand } from './flags.js';

const USAGE = `Usage: skiff proxy --kubeconfig PATH [flags]
       skiff proxy --cleanup

Flags:
  --kubeconfig PATH               kubeconfig to reach the API server
  --hostname-override NAME        this node's name (default: the host name)
  --cluster-cidr CIDR             pod CIDR of the cluster; traffic to cluster IPs from outside it is masqueraded (default 10.42.0.0/16, "" to disable)
  --masquerade-all                masquerade all traffic to cluster IPs
  --iptables-min-sync-period D    minimum time between syncs (default 1s)
  --iptables-sync-period D        time between full resyncs (default 1h)
  --iptables-backend B            auto (the backend already holding the node's rules; default), nft, legacy,
                                  or default (the system's "iptables")
  --cleanup                       remove all SKIFF- chains and jump rules, then exit
  --cleanup-on-exit               remove them on SIGTERM/SIGINT too (default: keep rules, like kube-proxy)
`;

/** Durations as "1s", "500ms", "1h30m": a subset of Go's (no bare "0", no ns/us, digits around a dot). */
export function parseDuration(s: string, flag: string): number {
  const ms = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(s) ? goDurationMs(s) : undefined;
  if (ms === undefined) throw new Error(`invalid argument "${s}" for "${flag}" flag: invalid duration`);
  return ms;
}

const FLAVORS: Record<'nft' | 'legacy' | 'default', IptablesFlavor> = { nft: 'iptables-nft', legacy: 'iptables-legacy', default: 'iptables' };

export function run(argv: string[]): Promise<void> {
  return runCommand('proxy', start, argv);
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'hostname-override': { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'masquerade-all': { type: 'boolean' },
      'iptables-min-sync-period': { type: 'string' },
      'iptables-sync-period': { type: 'string' },
      'iptables-backend': { type: 'string' },
      cleanup: { type: 'boolean' },
      'cleanup-on-exit': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const backend = parseIptablesBackend(values['iptables-backend']);
  if (values.cleanup) {
    // Like kube-proxy --cleanup: clear both backends unless one was named.
    const flavors: IptablesFlavor[] = backend === 'auto' ? ['iptables-nft', 'iptables-legacy'] : [FLAVORS[backend]];
    let failed = false;
    for (const f of flavors) {
      try {
        const r = await cleanupProxyRules({ iptables: f });
        process.stdout.write(`skiff proxy: ${f}: removed ${r.chains} chains and ${r.jumps} jump rules\n`);
      } catch (e) {
        failed = true;
        process.stderr.write(`skiff proxy: ${f}: ${(e as Error).message}\n`);
      }
    }
    if (failed) process.exit(1);
    return;
  }
  if (!values.kubeconfig) throw new Error(`--kubeconfig is required\n${USAGE}`);
  const nodeName = (values['hostname-override'] ?? hostname()).toLowerCase();
  const client = new Client({ kubeconfig: values.kubeconfig, component: 'kube-proxy' });
  const proxy = await startProxy({
    client,
    nodeName,
    clusterCIDR: values['cluster-cidr'],
    masqueradeAll: values['masquerade-all'],
    iptables: backend,
    minSyncPeriodMs: values['iptables-min-sync-period'] ? parseDuration(values['iptables-min-sync-period'], '--iptables-min-sync-period') : undefined,
    fullSyncPeriodMs: values['iptables-sync-period'] ? parseDuration(values['iptables-sync-period'], '--iptables-sync-period') : undefined,
    log: (level, msg) => process.stderr.write(`skiff proxy: ${level}: ${msg}\n`),
  });
  process.stdout.write(`skiff proxy: running on node ${nodeName} (${proxy.proxier.iptables.flavor})\n`);
  void proxy.firstSync.then(() => {
    const s = proxy.proxier.stats();
    process.stdout.write(`skiff proxy: first sync done (${s.servicePorts} service ports, ${s.endpoints} endpoints)\n`);
  });

  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff proxy: ${signal}, shutting down${values['cleanup-on-exit'] ? ' and removing rules' : ''}\n`);
    await proxy.stop({ cleanup: values['cleanup-on-exit'] });
    client.close();
  });
}
