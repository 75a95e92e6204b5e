// The scraper against real kubelet HTTPS servers (src/kubelet/server over a fake runtime):
// client-certificate TLS, decoding into the store, a kubelet whose stats fail (no node point),
// an unreachable kubelet (backoff grows, other nodes unaffected) and hollow nodes (skipped).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '../../src/api/types.js';
import { kubeletConnection } from '../../src/apiserver/pod-proxy.js';
import { kubeletServingCert } from '../../src/kubelet/server/certs.js';
import { startKubeletServer, type KubeletServer, type StreamingRuntime } from '../../src/kubelet/server/server.js';
import type { ResourceStats } from '../../src/kubelet/stats/provider.js';
import { MetricsScraper } from '../../src/metrics/scraper.js';
import { MetricsStore } from '../../src/metrics/store.js';
import { ensureServerPki, type ServerPki } from '../../src/pki/index.js';
import { freePort } from '../helpers/cluster.js';

let dir: string;
let pki: ServerPki;
const servers: KubeletServer[] = [];
let failStats = false;
let cpuSeconds = 100;

function runtime(): StreamingRuntime {
  const no = async (): Promise<never> => {
    throw new Error('unused');
  };
  return {
    listContainers: async () => [],
    listPodSandboxes: async () => [],
    containerStatus: async () => undefined as any,
    exec: no,
    attach: no,
    portForward: no,
    stats: {
      async resourceStats(): Promise<ResourceStats> {
        if (failStats) throw new Error('runtime down');
        const now = Date.now();
        cpuSeconds += 1;
        return {
          node: { cpu: { timestampMs: now, usageCoreNanoSeconds: cpuSeconds * 1e9 }, memory: { timestampMs: now, workingSetBytes: 4096 } },
          pods: [],
        };
      },
    },
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-scraper-'));
  pki = await ensureServerPki(dir);
  for (const name of ['good', 'flaky']) {
    servers.push(
      await startKubeletServer({
        nodeName: name,
        runtime: runtime(),
        tls: { ...(await kubeletServingCert(pki, name, [])), clientCaPem: pki.clientCaCertPem },
        port: 0,
        bindAddress: '127.0.0.1',
      }),
    );
  }
});

after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const node = (name: string, port: number, runtimeVersion = 'containerd://1.6.20'): KObject => ({
  metadata: { name },
  status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } }, nodeInfo: { containerRuntimeVersion: runtimeVersion } },
});

test('scraper: rounds over kubelets; failures leave a node out and back off', async () => {
  const conn = await kubeletConnection(pki);
  const deadPort = await freePort();
  const nodes = [node('good', servers[0].port), node('flaky', servers[1].port), node('gone', deadPort), node('hollow-0', deadPort, 'hollow://1.0')];
  const store = new MetricsStore(1000);
  const scraper = new MetricsScraper({
    listNodes: () => nodes,
    kubelet: { ...conn, resolve: (n) => ({ host: '127.0.0.1', port: Number(n.status!.daemonEndpoints.kubeletEndpoint.Port) }) },
    store,
    resolutionMs: 1000,
    timeoutMs: 2000,
    log: () => undefined,
  });
  try {
    await scraper.scrapeRound();
    await new Promise((r) => setTimeout(r, 20));
    await scraper.scrapeRound();
    assert.ok(store.nodeUsage('good')!.cpuNanoCores > 0);
    assert.equal(store.nodeUsage('good')!.memoryBytes, 4096);
    assert.ok(store.nodeUsage('flaky'));
    assert.equal(store.nodeUsage('gone'), undefined);
    assert.deepEqual([...scraper.failures()], [['gone', 2]], 'hollow nodes are never dialled');

    // A kubelet whose runtime fails answers resource_scrape_error 1: that node drops out.
    failStats = true;
    await scraper.scrapeRound();
    assert.equal(store.nodeUsage('good'), undefined);
    failStats = false;
    // The third failure backs the dead node off: the next round does not dial it.
    assert.equal(scraper.failures().get('gone'), 3);
    await scraper.scrapeRound();
    assert.equal(scraper.failures().get('gone'), 3);
    // Deleted nodes are forgotten.
    nodes.splice(2, 1);
    await scraper.scrapeRound();
    assert.deepEqual([...scraper.failures()], []);
    assert.equal(scraper.rounds, 5);
  } finally {
    scraper.stop();
  }
});
