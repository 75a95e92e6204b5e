// Cluster DNS throughput and latency: an in-process API server with many services (ClusterIP
// with named ports, and headless ones with EndpointSlices), the DNS server on 127.0.0.1, and a
// load generator in a worker thread keeping many UDP queries outstanding (a mix of service A,
// SRV, headless A, pod A and NXDOMAIN). Phases: steady state, then with an EndpointSlice
// rewritten every 20 ms (each change invalidates the response cache), then over TCP.
// Run: npx tsc -p . && node dist/bench/dns.js [seconds-per-phase] [outstanding]
//
// --from-pod: the same services on a real `skiff server` with its agent; the load generator
// runs inside a busybox pod's network namespace (`ip netns exec` of the pod's CNI netns, so
// its packets take the pod's path: veth, bridge, the proxy's DNAT of 10.96.0.10:53 to the
// DNS server on the node), then from the node itself to the server's bridge address.
// Run (root; takes the node e2e lock): node dist/bench/dns.js --from-pod [seconds] [outstanding]
import dgram from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import dnsPacket from 'dns-packet';
import { MemoryStore } from '../src/storage/memory.js';
import { startApiServer } from '../src/apiserver/server.js';
import { Client } from '../src/client/index.js';
import { startDns } from '../src/dns/index.js';
import { percentile, ms } from './lib/stats.js';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVICES = 1000;
const HEADLESS = 100;
const ENDPOINTS_PER_HEADLESS = 5;

interface LoadJob {
  /** Server address (default 127.0.0.1). */
  host?: string;
  port: number;
  seconds: number;
  outstanding: number;
  tcp: boolean;
  names: Array<[string, 'A' | 'SRV']>;
}

interface LoadResult {
  ops: number;
  seconds: number;
  timeouts: number;
  latencies: Float64Array;
}

/** The worker: sends pre-encoded queries, one per free slot, and times each reply by its ID. */
async function load(job: LoadJob): Promise<LoadResult> {
  const queries = job.names.map(([name, type]) => dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] }));
  const sentAt = new Float64Array(65536);
  const latencies: number[] = [];
  let next = 0;
  let timeouts = 0;
  const end = performance.now() + job.seconds * 1000;
  const start = performance.now();
  let send: (msg: Buffer) => void;
  let close: () => void;
  const done = new Promise<void>((resolve) => {
    let inflight = 0;
    const free: number[] = Array.from({ length: job.outstanding }, (_, i) => i);
    const slotOf = new Int32Array(65536).fill(-1);
    let seq = 0;
    const fire = () => {
      while (free.length && performance.now() < end) {
        const slot = free.pop()!;
        // IDs cycle through 64k values; with ≤ 4096 outstanding a reused ID is long answered.
        const id = seq++ & 0xffff;
        const q = Buffer.from(queries[next++ % queries.length]);
        q.writeUInt16BE(id, 0);
        slotOf[id] = slot;
        sentAt[id] = performance.now();
        inflight++;
        send(q);
      }
      if (inflight === 0) resolve();
    };
    const onReply = (msg: Buffer) => {
      const id = msg.readUInt16BE(0);
      const slot = slotOf[id];
      if (slot < 0) return;
      slotOf[id] = -1;
      latencies.push(performance.now() - sentAt[id]);
      inflight--;
      free.push(slot);
      fire();
    };
    if (job.tcp) {
      const sock = net.connect(job.port, job.host ?? '127.0.0.1');
      sock.setNoDelay(true);
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const n = buf.readUInt16BE(0);
          const m = buf.subarray(2, 2 + n);
          buf = buf.subarray(2 + n);
          onReply(m);
        }
      });
      send = (m) => {
        const len = Buffer.allocUnsafe(2);
        len.writeUInt16BE(m.length, 0);
        sock.write(Buffer.concat([len, m]));
      };
      close = () => sock.destroy();
      sock.on('connect', fire);
    } else {
      const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      sock.on('message', onReply);
      send = (m) => sock.send(m, job.port, job.host ?? '127.0.0.1');
      close = () => sock.close();
      // UDP may drop under load: a query unanswered for a second frees its slot as a timeout.
      const sweep = setInterval(() => {
        const now = performance.now();
        for (let id = 0; id < 65536; id++) {
          if (slotOf[id] >= 0 && now - sentAt[id] > 1000) {
            free.push(slotOf[id]);
            slotOf[id] = -1;
            inflight--;
            timeouts++;
          }
        }
        fire();
      }, 250);
      sock.on('close', () => clearInterval(sweep));
      sock.bind(0, job.host && job.host !== '127.0.0.1' ? '0.0.0.0' : '127.0.0.1', fire);
    }
  });
  await done;
  const seconds = (performance.now() - start) / 1000;
  close!();
  return { ops: latencies.length, seconds, timeouts, latencies: Float64Array.from(latencies).sort() };
}

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function report(label: string, r: LoadResult, outstanding: number): void {
  const lat = Array.from(r.latencies);
  console.log(
    `dns ${label.padEnd(16)} outstanding=${outstanding} ops=${r.ops} throughput=${Math.round(r.ops / r.seconds)}q/s ` +
      `p50=${ms(percentile(lat, 50))}ms p99=${ms(percentile(lat, 99))}ms timeouts=${r.timeouts}`,
  );
}

/** The services and headless services (with slices) every mode queries. */
async function populate(client: Client): Promise<void> {
  for (let i = 0; i < SERVICES; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        client.services.create('default', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `svc-${i + j}`, namespace: 'default' },
          spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
        }),
      ),
    );
  }
  for (let i = 0; i < HEADLESS; i++) {
    await client.services.create('default', { apiVersion: 'v1', kind: 'Service', metadata: { name: `hl-${i}`, namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'p', port: 7000 }] } });
    await client.endpointSlices.create('default', sliceOf(i, 0));
  }
}

/** 2,000 names: 60% service A, 10% SRV, 10% headless A, 10% pod A, 10% NXDOMAIN. */
function queryNames(): Array<[string, 'A' | 'SRV']> {
  const names: Array<[string, 'A' | 'SRV']> = [];
  for (let i = 0; i < 2000; i++) {
    const k = i % 10;
    if (k < 6) names.push([`svc-${(i * 7) % SERVICES}.default.svc.cluster.local`, 'A']);
    else if (k === 6) names.push([`_http._tcp.svc-${(i * 13) % SERVICES}.default.svc.cluster.local`, 'SRV']);
    else if (k === 7) names.push([`hl-${i % HEADLESS}.default.svc.cluster.local`, 'A']);
    else if (k === 8) names.push([`10-1-${i % 256}-${(i >> 8) % 256}.default.pod.cluster.local`, 'A']);
    else names.push([`missing-${i}.default.svc.cluster.local`, 'A']);
  }
  return names;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const outstanding = Number(process.argv[3] ?? 256);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-dns-'));
  const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  const client = new Client({ inProcess: { connect: (u) => api.connect(u), user: { name: 'system:admin', groups: ['system:masters'] } }, component: 'bench-dns', qps: 0 });
  try {
    await populate(client);
    const names = queryNames();
    const dns = await startDns({ client, listen: [{ host: '127.0.0.1', port: 0 }], upstream: [], syncTimeoutMs: 30_000 });
    const port = dns.addresses[0].port;
    console.log(`dns bench: ${SERVICES} services, ${HEADLESS} headless × ${ENDPOINTS_PER_HEADLESS} endpoints, ${seconds}s per phase`);
    report('udp steady', await runLoad({ port, seconds, outstanding, tcp: false, names }), outstanding);

    let rev = 1;
    let churning = true;
    const churn = (async () => {
      while (churning) {
        const s = sliceOf(rev % HEADLESS, rev);
        const cur = await client.endpointSlices.get('default', s.metadata!.name!);
        await client.endpointSlices.update('default', { ...cur, endpoints: s.endpoints } as any);
        rev++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    report('udp churn', await runLoad({ port, seconds, outstanding, tcp: false, names }), outstanding);
    churning = false;
    await churn;
    console.log(`dns churn: ${rev - 1} EndpointSlice updates during the phase`);

    report('tcp steady', await runLoad({ port, seconds, outstanding: Math.min(outstanding, 64), tcp: true, names }), Math.min(outstanding, 64));
    const st = dns.stats();
    console.log(`dns server: queries=${st.queries} cacheHits=${st.cacheHits} (${((100 * st.cacheHits) / st.queries).toFixed(1)}%)`);
    await dns.stop();
  } finally {
    client.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function sliceOf(i: number, rev: number) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `hl-${i}-slice`, namespace: 'default', labels: { 'kubernetes.io/service-name': `hl-${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'p', port: 7000, protocol: 'TCP' }],
    endpoints: Array.from({ length: ENDPOINTS_PER_HEADLESS }, (_, j) => ({
      addresses: [`10.200.${i % 256}.${(j + rev) % 250}`],
      hostname: `pod-${j}`,
      conditions: { ready: true },
    })),
  };
}

function netnsNames(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** The pod's CNI network namespace: one made since `before` that holds ip. */
function netnsOf(ip: string, before: Set<string>): string {
  for (const ns of netnsNames()) {
    if (before.has(ns)) continue;
    const addrs = spawnSync('ip', ['netns', 'exec', ns, 'ip', '-4', '-o', 'addr'], { encoding: 'utf8' }).stdout;
    if (addrs.includes(` ${ip}/`)) return ns;
  }
  throw new Error(`no network namespace holds ${ip}`);
}

/** Runs the load generator as a child process inside netns (the job goes in on stdin). */
function runLoadInNetns(netns: string, job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, fileURLToPath(import.meta.url), '--load-worker'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`load worker in ${netns} exited ${code}`));
      const r = JSON.parse(out) as Omit<LoadResult, 'latencies'> & { latencies: number[] };
      resolve({ ...r, latencies: Float64Array.from(r.latencies) });
    });
    child.stdin.end(JSON.stringify(job));
  });
}

async function workerProcess(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const r = await load(JSON.parse(Buffer.concat(chunks).toString()) as LoadJob);
  // Every 10th sorted latency keeps the percentiles and the JSON small.
  const kept = Array.from(r.latencies.filter((_, i) => i % 10 === 0));
  process.stdout.write(JSON.stringify({ ...r, latencies: kept }));
}

const CLUSTER_DNS_IP = '10.96.0.10';

async function fromPod(seconds: number, outstanding: number): Promise<void> {
  // Imported here: the test helpers pull in the e2e harness only for this mode.
  const { startNodeCluster } = await import('../test/helpers/node-cleanup.js');
  const { fixture } = await import('../test/e2e/util.js');
  const c = await startNodeCluster({ nodeName: 'skiff-bench-dns' });
  const client = new Client({ kubeconfig: c.server.kubeconfig, component: 'bench-dns', qps: 0 });
  try {
    await populate(client);
    const before = new Set(netnsNames());
    await c.server.k('apply', '-f', fixture('services/client.yaml'));
    await c.server.k('wait', '--for=condition=Ready', 'pod/client', '--timeout=120s');
    const podIP = (await c.server.k('get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}')).trim();
    const ns = netnsOf(podIP, before);
    // The DNS server's watch must have every service before we count answers.
    const probe = await c.server.k('exec', 'client', '--', 'nslookup', `svc-${SERVICES - 1}.default.svc.cluster.local`);
    if (!probe.includes('Address')) throw new Error(`cluster DNS not answering: ${probe}`);
    const names = queryNames();
    console.log(`dns bench from a pod (${podIP}, netns ${ns}) to ${CLUSTER_DNS_IP}:53: ${SERVICES} services, ${HEADLESS} headless × ${ENDPOINTS_PER_HEADLESS} endpoints, ${seconds}s per phase, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (const o of [...new Set([64, outstanding])]) {
      report('pod udp', await runLoadInNetns(ns, { host: CLUSTER_DNS_IP, port: 53, seconds, outstanding: o, tcp: false, names }), o);
    }
    report('pod tcp', await runLoadInNetns(ns, { host: CLUSTER_DNS_IP, port: 53, seconds, outstanding: 64, tcp: true, names }), 64);
    // Baseline without the pod's path: from the node straight to the server's address on the
    // bridge (not via 10.96.0.10: the node's own source is masqueraded to 127.0.0.1 there, and
    // the server's reply from 127.0.0.1 then misses the conntrack entry).
    report('node udp', await runLoad({ host: '10.42.0.1', port: 53, seconds, outstanding: 64, tcp: false, names }), 64);
    console.log(`load after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    client.close();
    const report = await c.cleanup();
    if (report.errors.length) console.error('cleanup errors:', report.errors);
  }
}

if (isMainThread && process.argv[2] === '--load-worker') {
  workerProcess().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (isMainThread && process.argv[2] === '--from-pod') {
  fromPod(Number(process.argv[3] ?? 5), Number(process.argv[4] ?? 256)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  void load(workerData as LoadJob).then((r) => parentPort!.postMessage(r));
}
