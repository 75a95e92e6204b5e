// End-to-end API server benchmarks: a real `skiff server --disable-agent` (on sqlite, and on an
// etcd this script starts) driven over HTTPS with the admin client certificate, 16 concurrent
// clients each on its own keep-alive connection. Measures create/get/update/list throughput and
// latency, watch event latency, listing 10,000 pods (JSON, Table, paged), one change fanned out
// to 100 watchers, and the server's RSS. With --cpu-prof it instead profiles the server under the
// create load and prints the top self-time functions.
//
// Run: npx tsc -p . && node dist/bench/apiserver.js [--store sqlite|etcd|both] [--quick]
//                                                    [--cpu-prof [--cpu-prof-dir DIR]]
// Everything started here (servers, etcd, temp dirs) is stopped by PID and removed on exit.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { startEtcd, type EtcdHandle } from '../test/helpers/etcd.js';
import { CLIENTS, measure, sampleValue } from './etcd-raw.js';
import { KubeClient, loadKubeconfig, type Credentials } from './lib/kube-client.js';
import { formatMeasured, latencySummary, ms, now, percentile, runClients } from './lib/stats.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';

type StoreKind = 'sqlite' | 'etcd';

interface Sizes {
  /** Creates/gets/updates per client in the basic workload. */
  opsPerClient: number;
  /** Lists per client of the 100-object namespace. */
  listsPerClient: number;
  /** Objects in the listed namespace. */
  listObjects: number;
  /** Sequential creates for the idle watch latency. */
  idleWatchCreates: number;
  pods: number;
  /** Repeats of each 10k-pod list variant. */
  listRepeats: number;
  watchers: number;
  fanoutEvents: number;
}

const FULL: Sizes = { opsPerClient: 500, listsPerClient: 50, listObjects: 100, idleWatchCreates: 200, pods: 10_000, listRepeats: 5, watchers: 100, fanoutEvents: 1000 };
const QUICK: Sizes = { opsPerClient: 50, listsPerClient: 10, listObjects: 100, idleWatchCreates: 50, pods: 1000, listRepeats: 2, watchers: 100, fanoutEvents: 100 };

// ---- process bookkeeping: kill what we started even when the bench fails or is interrupted ----

interface BenchServer extends ServerProcess {
  dataDir: string;
}

const running = new Set<BenchServer>();
const etcds = new Set<EtcdHandle>();
const tempDirs = new Set<string>();

process.on('exit', () => {
  for (const s of running) {
    try {
      if (s.proc.exitCode === null && s.proc.signalCode === null) process.kill(s.pid, 'SIGKILL');
    } catch {}
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  // etcd handles register their own exit hooks.
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`bench: ${sig}, cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

async function cleanupAll(): Promise<void> {
  for (const s of [...running]) await stopServer(s);
  for (const e of [...etcds]) await stopEtcd(e);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

async function launchServer(datastoreEndpoint: string | undefined, nodeArgs?: string[]): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  tempDirs.add(dataDir);
  try {
    const s = { ...(await startServerProcess({ dataDir, datastoreEndpoint, nodeArgs })), dataDir };
    running.add(s);
    return s;
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    tempDirs.delete(dataDir);
    throw e;
  }
}

async function stopServer(s: BenchServer): Promise<void> {
  running.delete(s);
  await s.stop();
  rmSync(s.dataDir, { recursive: true, force: true });
  tempDirs.delete(s.dataDir);
}

async function launchEtcd(): Promise<EtcdHandle> {
  const e = await startEtcd();
  etcds.add(e);
  return e;
}

async function stopEtcd(e: EtcdHandle): Promise<void> {
  etcds.delete(e);
  await e.stop();
}

/** Starts etcd when asked for, then a server on it; always tears both down. */
async function withBackend<T>(
  kind: StoreKind,
  fn: (server: BenchServer, creds: Credentials, etcd: EtcdHandle | undefined) => Promise<T>,
  nodeArgs?: string[],
): Promise<T> {
  const etcd = kind === 'etcd' ? await launchEtcd() : undefined;
  try {
    const server = await launchServer(etcd?.endpoint, nodeArgs);
    try {
      return await fn(server, loadKubeconfig(server.kubeconfig), etcd);
    } finally {
      await stopServer(server);
    }
  } finally {
    if (etcd) await stopEtcd(etcd);
  }
}

// ---- objects ----

/** A ConfigMap of about 500 bytes of JSON. */
function configMap(namespace: string, name: string, version = 0): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { app: 'bench', tier: 'backend' } },
    data: { 'app.properties': `version=${version}\n` + 'setting=value-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(6), mode: 'bench' },
  };
}

/** A small but realistic pod: one container with ports, resources, env and a probe. */
function pod(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'web', 'pod-template-hash': '5d4f8c7b9' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.k8s.io/pause:3.10',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [{ name: 'MODE', value: 'bench' }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    },
  };
}

async function createNamespace(c: KubeClient, name: string): Promise<void> {
  await c.json('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

function expectStatus(r: { status: number; body: Buffer }, code: number, what: string): void {
  if (r.status !== code) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
}

/** Splits `total` into per-client counts that add up exactly. */
function shares(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/** Resolves when cond() holds, polling; rejects after timeoutMs. */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rssMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

// ---- phases ----

/**
 * Creates through `clients` while one watcher notes when each object's ADDED event arrives.
 * Watch latency is reported from the create's request start (the server usually sends the event
 * before the create response reaches the client) and, for events that came later, past the response.
 */
async function createWithWatch(
  label: string,
  watcher: KubeClient,
  clients: KubeClient[],
  namespace: string,
  perClient: number,
  nameOf: (w: number, i: number) => string,
): Promise<Map<string, string>> {
  const rv = (await watcher.json('GET', `/api/v1/namespaces/${namespace}/configmaps?limit=1`)).metadata.resourceVersion;
  const seen = new Map<string, number>();
  const re = /"name":"(cm-[a-z0-9-]+)"/;
  const w = await watcher.watch(`/api/v1/namespaces/${namespace}/configmaps?watch=1&resourceVersion=${rv}`, (line) => {
    const m = re.exec(line);
    if (m && !seen.has(m[1])) seen.set(m[1], now());
  });
  const sent = new Map<string, number>();
  const responded = new Map<string, number>();
  const rvs = new Map<string, string>();
  try {
    const m = await runClients(clients, perClient, async (c, wk, i) => {
      const name = nameOf(wk, i);
      sent.set(name, now());
      const r = await c.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, configMap(namespace, name));
      responded.set(name, now());
      expectStatus(r, 201, `create ${name}`);
      rvs.set(name, JSON.parse(r.body.toString('utf8')).metadata.resourceVersion);
    });
    console.log(formatMeasured(`${label} create`, clients.length, m));
    await until(() => [...responded.keys()].every((n) => seen.has(n)), 30_000, 'watch events');
  } finally {
    w.close();
  }
  const fromSend: number[] = [];
  const afterResponse: number[] = [];
  for (const [name, t] of responded) {
    const at = seen.get(name)!;
    fromSend.push(at - sent.get(name)!);
    if (at > t) afterResponse.push(at - t);
  }
  console.log(
    `${label} watch-latency clients=${clients.length} events=${fromSend.length} from-request-start ${latencySummary(fromSend)} ` +
      `after-response=${afterResponse.length}/${fromSend.length}` +
      (afterResponse.length ? ` (${latencySummary(afterResponse)})` : ''),
  );
  return rvs;
}

async function basicWorkload(label: string, creds: Credentials, s: Sizes): Promise<void> {
  const clients = Array.from({ length: CLIENTS }, () => new KubeClient(creds));
  const watcher = new KubeClient(creds, 4);
  try {
    const ns = 'bench';
    await createNamespace(clients[0], ns);
    const size = JSON.stringify(configMap(ns, 'cm-00-00000')).length;
    console.log(`# ${label}: configmaps of ${size} bytes JSON (request body)`);
    const nameOf = (w: number, i: number) => `cm-${String(w).padStart(2, '0')}-${String(i).padStart(5, '0')}`;
    const rvs = await createWithWatch(label, watcher, clients, ns, s.opsPerClient, nameOf);

    const get = await runClients(clients, s.opsPerClient, async (c, w, i) => {
      const r = await c.request('GET', `/api/v1/namespaces/${ns}/configmaps/${nameOf(w, i)}`);
      expectStatus(r, 200, 'get');
    });
    console.log(formatMeasured(`${label} get`, clients.length, get));

    const update = await runClients(clients, s.opsPerClient, async (c, w, i) => {
      const name = nameOf(w, i);
      const obj = configMap(ns, name, 1);
      (obj.metadata as Record<string, unknown>).resourceVersion = rvs.get(name);
      const r = await c.request('PUT', `/api/v1/namespaces/${ns}/configmaps/${name}`, obj);
      expectStatus(r, 200, `update ${name}`);
    });
    console.log(formatMeasured(`${label} update`, clients.length, update));

    const listNs = 'bench-list';
    await createNamespace(clients[0], listNs);
    await Promise.all(
      clients.map(async (c, w) => {
        for (let i = w; i < s.listObjects; i += clients.length) await c.json('POST', `/api/v1/namespaces/${listNs}/configmaps`, configMap(listNs, `cm-${i}`));
      }),
    );
    let bytes = 0;
    const list = await runClients(clients, s.listsPerClient, async (c) => {
      const r = await c.request('GET', `/api/v1/namespaces/${listNs}/configmaps`);
      expectStatus(r, 200, 'list');
      bytes = r.body.length;
    });
    console.log(`${formatMeasured(`${label} list`, clients.length, list)} items=${s.listObjects} bytes=${bytes}`);

    // Unloaded watch latency: one client creating sequentially.
    await createWithWatch(`${label} idle`, watcher, [clients[0]], ns, s.idleWatchCreates, (_w, i) => `cm-idle-${i}`);
  } finally {
    for (const c of [...clients, watcher]) c.close();
  }
}

async function timeRequest(c: KubeClient, path: string, headers?: Record<string, string>): Promise<{ ms: number; bytes: number; body: Buffer }> {
  const t = now();
  const r = await c.request('GET', path, undefined, headers);
  const elapsed = now() - t;
  expectStatus(r, 200, `GET ${path}`);
  return { ms: elapsed, bytes: r.body.length, body: r.body };
}

async function manyPods(label: string, server: BenchServer, creds: Credentials, s: Sizes): Promise<void> {
  const clients = Array.from({ length: CLIENTS }, () => new KubeClient(creds));
  try {
    const ns = 'bench-pods';
    await createNamespace(clients[0], ns);
    const counts = shares(s.pods, clients.length);
    let next = 0;
    const created = await runClients(clients, counts, async (c) => {
      const r = await c.request('POST', `/api/v1/namespaces/${ns}/pods`, pod(ns, `pod-${next++}`));
      expectStatus(r, 201, 'create pod');
    });
    console.log(formatMeasured(`${label} create-pods`, clients.length, created));

    const c = clients[0];
    const path = `/api/v1/namespaces/${ns}/pods`;
    const check = JSON.parse((await timeRequest(c, path)).body.toString('utf8'));
    if (check.items.length !== s.pods) throw new Error(`list returned ${check.items.length} pods, want ${s.pods}`);

    const variants: Array<[string, () => Promise<{ ms: number; bytes: number; pages: number }>]> = [
      ['json', async () => ({ ...(await timeRequest(c, path)), pages: 1 })],
      ['table', async () => ({ ...(await timeRequest(c, path, { Accept: TABLE_ACCEPT })), pages: 1 })],
      [
        'json-limit-500',
        async () => {
          const t = now();
          let bytes = 0;
          let pages = 0;
          let items = 0;
          let cont = '';
          do {
            const r = await timeRequest(c, `${path}?limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
            const page = JSON.parse(r.body.toString('utf8'));
            bytes += r.bytes;
            pages++;
            items += page.items.length;
            cont = page.metadata.continue ?? '';
          } while (cont);
          if (items !== s.pods) throw new Error(`paged list returned ${items} pods`);
          return { ms: now() - t, bytes, pages };
        },
      ],
    ];
    for (const [name, run] of variants) {
      const times: number[] = [];
      let bytes = 0;
      let pages = 0;
      for (let i = 0; i < s.listRepeats; i++) {
        const r = await run();
        times.push(r.ms);
        bytes = r.bytes;
        pages = r.pages;
      }
      times.sort((a, b) => a - b);
      console.log(
        `${label} list-pods format=${name} items=${s.pods} pages=${pages} bytes=${bytes} runs=${times.length} ` +
          `p50=${ms(percentile(times, 50))}ms min=${ms(times[0])}ms max=${ms(times[times.length - 1])}ms`,
      );
    }
    const mem = rssMiB(server.pid);
    console.log(`${label} rss after=${s.pods}-pods VmRSS=${mem.rss.toFixed(0)}MiB VmHWM=${mem.hwm.toFixed(0)}MiB`);
  } finally {
    for (const c of clients) c.close();
  }
}

async function fanout(label: string, creds: Credentials, s: Sizes): Promise<void> {
  const clients = Array.from({ length: CLIENTS }, () => new KubeClient(creds));
  const watchers = Array.from({ length: s.watchers }, () => new KubeClient(creds));
  const streams: Array<{ close(): void }> = [];
  try {
    const ns = 'bench-fanout';
    await createNamespace(clients[0], ns);
    const rv = (await clients[0].json('GET', `/api/v1/namespaces/${ns}/pods?limit=1`)).metadata.resourceVersion;
    const received = new Uint16Array(s.fanoutEvents);
    const allAt = new Float64Array(s.fanoutEvents);
    const firstAt = new Float64Array(s.fanoutEvents);
    const sent = new Float64Array(s.fanoutEvents);
    const responded = new Float64Array(s.fanoutEvents);
    let complete = 0;
    const re = /"name":"fan-(\d+)"/;
    for (const w of watchers) {
      streams.push(
        await w.watch(`/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${rv}`, (line) => {
          const m = re.exec(line);
          if (!m) return;
          const i = Number(m[1]);
          const t = now();
          if (received[i] === 0) firstAt[i] = t;
          if (++received[i] === s.watchers) {
            allAt[i] = t;
            complete++;
          }
        }),
      );
    }
    const counts = shares(s.fanoutEvents, clients.length);
    let next = 0;
    const start = now();
    await Promise.all(
      clients.map(async (c, w) => {
        for (let k = 0; k < counts[w]; k++) {
          const i = next++;
          sent[i] = now();
          const r = await c.request('POST', `/api/v1/namespaces/${ns}/pods`, pod(ns, `fan-${i}`));
          responded[i] = now();
          expectStatus(r, 201, 'create pod');
        }
      }),
    );
    await until(() => complete === s.fanoutEvents, 60_000, `all ${s.watchers} watchers to see ${s.fanoutEvents} events`);
    const seconds = (Math.max(...allAt) - start) / 1000;
    // Latencies from the create's request start: the server usually sends the watch events
    // before the create response reaches the client, so the response is no useful origin.
    const all: number[] = [];
    const first: number[] = [];
    const create: number[] = [];
    let afterResponse = 0;
    for (let i = 0; i < s.fanoutEvents; i++) {
      all.push(allAt[i] - sent[i]);
      first.push(firstAt[i] - sent[i]);
      create.push(responded[i] - sent[i]);
      if (allAt[i] > responded[i]) afterResponse++;
    }
    for (const a of [all, first, create]) a.sort((x, y) => x - y);
    console.log(
      `${label} watch-fanout watchers=${s.watchers} creators=${clients.length} events=${s.fanoutEvents} ` +
        `throughput=${Math.round(s.fanoutEvents / seconds)}events/s deliveries=${Math.round((s.fanoutEvents * s.watchers) / seconds)}/s ` +
        `from-request-start: all-received p50=${ms(percentile(all, 50))}ms p99=${ms(percentile(all, 99))}ms ` +
        `first-received p50=${ms(percentile(first, 50))}ms p99=${ms(percentile(first, 99))}ms ` +
        `create-response p50=${ms(percentile(create, 50))}ms p99=${ms(percentile(create, 99))}ms ` +
        `all-received-after-response=${afterResponse}/${s.fanoutEvents}`,
    );
  } finally {
    for (const st of streams) st.close();
    for (const c of [...clients, ...watchers]) c.close();
  }
}

/** The raw etcd reference (bench/etcd-raw.ts's workload) against the same etcd. */
async function etcdReference(etcd: EtcdHandle, opsPerClient: number): Promise<void> {
  const clients = Array.from({ length: CLIENTS }, () => new Etcd3({ hosts: [etcd.endpoint] }));
  try {
    await measure('etcd-raw put', clients, opsPerClient, (c, w, i) => c.put(`/bench/${w}/${i}`).value(sampleValue(i)).exec());
    await measure('etcd-raw get', clients, opsPerClient, (c, w, i) => c.get(`/bench/${w}/${i}`).exec());
  } finally {
    for (const c of clients) c.close();
  }
}

async function benchStore(kind: StoreKind, s: Sizes): Promise<void> {
  const label = `apiserver ${kind}`;
  await withBackend(kind, async (server, creds, etcd) => {
    if (etcd) await etcdReference(etcd, s.opsPerClient);
    const start = rssMiB(server.pid);
    console.log(`${label} rss after=startup VmRSS=${start.rss.toFixed(0)}MiB`);
    await basicWorkload(label, creds, s);
    await manyPods(label, server, creds, s);
    await fanout(label, creds, s);
  });
}

/** Profiles a fresh server under the 16-client create load; prints the top self-time functions. */
async function profileCreate(kind: StoreKind, s: Sizes, keepDir: string | undefined): Promise<void> {
  const dir = keepDir ? resolve(keepDir) : mkdtempSync(join(tmpdir(), 'skiff-cpuprof-'));
  if (!keepDir) tempDirs.add(dir);
  try {
    const label = `apiserver ${kind} (profiled)`;
    let pid = 0;
    await withBackend(
      kind,
      async (server, creds) => {
        pid = server.pid;
        const clients = Array.from({ length: CLIENTS }, () => new KubeClient(creds));
        try {
          const ns = 'bench';
          await createNamespace(clients[0], ns);
          const m = await runClients(clients, s.opsPerClient, async (c, w, i) => {
            const r = await c.request('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, `cm-${w}-${i}`));
            expectStatus(r, 201, 'create');
          });
          console.log(formatMeasured(`${label} create`, clients.length, m));
        } finally {
          for (const c of clients) c.close();
        }
      },
      ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    );
    // The server writes its profile when it exits (SIGTERM → process.exit in withBackend).
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
    if (!file) throw new Error(`no .cpuprofile for pid ${pid} in ${dir}`);
    const { entries, files, busyMs, idleMs } = topSelfTime(join(dir, file), ROOT, 10);
    console.log(`${label} cpu profile: busy=${busyMs.toFixed(0)}ms idle=${idleMs.toFixed(0)}ms${keepDir ? ` file=${join(dir, file)}` : ''}`);
    console.log('  self-ms   self%  function');
    for (const e of entries) console.log(`  ${e.ms.toFixed(0).padStart(7)}  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`);
    console.log('  self-ms   self%  file');
    for (const e of files) console.log(`  ${e.ms.toFixed(0).padStart(7)}  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`);
  } finally {
    if (!keepDir) {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: 'both' },
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string' },
    },
    strict: true,
  });
  const kinds: StoreKind[] = values.store === 'both' ? ['sqlite', 'etcd'] : values.store === 'sqlite' || values.store === 'etcd' ? [values.store] : [];
  if (kinds.length === 0) throw new Error(`--store must be sqlite, etcd or both, not ${values.store}`);
  const sizes = values.quick ? QUICK : FULL;
  for (const kind of kinds) {
    if (values['cpu-prof']) await profileCreate(kind, sizes, values['cpu-prof-dir']);
    else await benchStore(kind, sizes);
  }
  if (!values['cpu-prof'] && !kinds.includes('etcd')) console.log('# raw etcd reference: node dist/bench/etcd-raw.js');
  console.log('# Store-level reference (no HTTP): node dist/bench/store.js');
}

try {
  await main();
} catch (e) {
  console.error(e);
  await cleanupAll();
  process.exitCode = 1;
}
