// Proxy sync cost at scale: N ClusterIP services (one TCP port, E fake endpoints each, half of
// them NodePort), synced into a private network namespace so the host's tables are untouched.
// For each N: the first full sync (iptables-save + generation + iptables-restore), a full
// resync over existing rules (what a restart does), and one incremental change (one service's
// endpoints), with generation and iptables-restore timed separately.
// On iptables-nft the nat table goes in batches of --transaction-chains service chains
// (default: the proxier's, 1000; 0 = one transaction, as before the batching).
// Run (root): npx tsc -p . && node dist/bench/proxy.js [N ...] [--endpoints E] [--backend nft|legacy] [--transaction-chains K]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Proxier, type SyncResult } from '../src/proxy/proxier.js';
import { netnsRunner } from '../src/proxy/runner.js';
import type { IptablesFlavor } from '../src/proxy/iptables.js';
import type { KObject } from '../src/api/types.js';

function ipOf(base: number, n: number): string {
  return [base, (n >> 16) & 255, (n >> 8) & 255, n & 255].join('.');
}

function serviceObj(i: number): KObject {
  const nodePort = i % 2 === 0;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: `ns-${i % 50}` },
    spec: {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP: ipOf(10, (96 << 16) + i + 1),
      ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(nodePort ? { nodePort: 30000 + (i % 2768) } : {}) }],
    },
  } as KObject;
}

function sliceObj(i: number, endpoints: number, generation = 0): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-x`, namespace: `ns-${i % 50}`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      addresses: [ipOf(10, (42 << 16) + ((i * endpoints + e + generation) % 65000) + 1)],
      conditions: { ready: true },
      nodeName: `node-${e % 3}`,
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  } as KObject;
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;

function line(label: string, r: SyncResult): string {
  return `  ${label.padEnd(22)} save ${fmt(r.saveMs)}  generate ${fmt(r.generateMs)}  restore ${fmt(r.restoreMs)}  (nat ${r.rules.natRules} rules, ${r.rules.writtenChains} service ports written, ${r.rules.activeChains.size} chains active, ${r.rules.transactions} commits)`;
}

async function benchOne(n: number, endpoints: number, flavor: IptablesFlavor, maxChainsPerTransaction?: number): Promise<void> {
  const ns = `skiff-bench-proxy-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const p = new Proxier({ nodeName: 'node-0', runner: netnsRunner(ns), iptables: flavor, minSyncPeriodMs: 0, fullSyncPeriodMs: 0, maxChainsPerTransaction });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      p.onService(serviceObj(i));
      p.onEndpointSlice(sliceObj(i, endpoints));
    }
    const feedMs = performance.now() - t0;
    p.setSynced('services');
    p.setSynced('endpointslices');
    const s = p.stats();
    console.log(`${n} services, ${s.endpoints} endpoints (${flavor}, uptime load ${loadavg().map((l) => l.toFixed(1)).join(' ')}); feeding the maps took ${feedMs.toFixed(0)} ms`);
    const first = await p.syncNow();
    console.log(line('first full sync', first));
    const again = await p.syncNow({ full: true });
    console.log(line('full resync (restart)', again));
    p.onEndpointSlice(sliceObj(Math.floor(n / 2), endpoints, 7));
    const inc = await p.syncNow();
    console.log(line('one service changed', inc));
    p.onService({ ...serviceObj(1), metadata: { name: 'svc-1', namespace: 'ns-1' } } as KObject, true);
    const del = await p.syncNow();
    console.log(line('one service deleted', del));
    await p.stop();
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

export async function main(argv: string[]): Promise<void> {
  const sizes: number[] = [];
  let endpoints = 2;
  let backend: IptablesFlavor = 'iptables';
  let perTransaction: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--endpoints') endpoints = Number(argv[++i]);
    else if (argv[i] === '--transaction-chains') perTransaction = Number(argv[++i]);
    else if (argv[i] === '--backend') backend = argv[++i] === 'legacy' ? 'iptables-legacy' : 'iptables-nft';
    else sizes.push(Number(argv[i]));
  }
  if (process.getuid?.() !== 0) throw new Error('must run as root (creates a network namespace)');
  for (const n of sizes.length ? sizes : [1000, 10000]) await benchOne(n, endpoints, backend, perTransaction);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
