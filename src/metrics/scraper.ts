// The scraper: every resolution, GET /metrics/resource from the kubelet of every node (over
// HTTPS with the API server's kubelet client certificate), decode, and hand the round to the
// store. Like metrics-server: all nodes in parallel (bounded), a per-request timeout below
// the resolution, and a node that fails simply has no metrics this round. Nodes that keep
// failing are retried with a growing backoff, and hollow nodes (nothing listens at their
// fake addresses) are never dialled.
import https from 'node:https';
import type { KObject } from '../api/types.js';
import { decodeResourceMetrics, type NodeScrape } from './decode.js';
import type { MetricsStore } from './store.js';

export interface KubeletTarget {
  /** The CA that signed kubelet serving certs and the client certificate to present. */
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Where a node's kubelet listens. */
  resolve(node: KObject): { host: string; port: number };
}

export interface ScraperOptions {
  /** The current nodes (from the API server's cache). */
  listNodes(): KObject[];
  kubelet: KubeletTarget;
  store: MetricsStore;
  resolutionMs: number;
  /** Per-request timeout (default: 90% of the resolution, at most 10 s). */
  timeoutMs?: number;
  /** Nodes scraped at once (default 32). */
  concurrency?: number;
  log?: (msg: string) => void;
}

const MAX_BACKOFF_MS = 5 * 60_000;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Nodes nothing real answers for: hollow nodes (containerRuntimeVersion hollow://). */
export function isScrapable(node: KObject): boolean {
  return !String(node.status?.nodeInfo?.containerRuntimeVersion ?? '').startsWith('hollow://');
}

export class MetricsScraper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private readonly agent: https.Agent;
  /** node name -> { failures, next attempt time } */
  private readonly backoff = new Map<string, { failures: number; retryAt: number }>();
  private lastErrors = new Map<string, string>();
  /** Completed rounds (tests and diagnostics). */
  rounds = 0;

  constructor(private readonly opts: ScraperOptions) {
    const k = opts.kubelet;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: k.caPem, cert: k.certPem, key: k.keyPem });
  }

  /** Scrapes now and then every resolution until stop(). */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      void this.scrapeRound().finally(() => {
        if (!this.stopped) (this.timer = setTimeout(tick, this.opts.resolutionMs)).unref();
      });
    };
    (this.timer = setTimeout(tick, 0)).unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.agent.destroy();
  }

  get started(): boolean {
    return !!this.timer;
  }

  /** Nodes whose last scrapes failed: name -> consecutive failures. */
  failures(): Map<string, number> {
    return new Map([...this.backoff].map(([n, b]) => [n, b.failures]));
  }

  /** One round over all nodes; the store gets the nodes that answered. */
  async scrapeRound(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = Date.now();
      const nodes = this.opts.listNodes().filter(isScrapable);
      const due = nodes.filter((n) => (this.backoff.get(n.metadata?.name ?? '')?.retryAt ?? 0) <= now);
      const round = new Map<string, NodeScrape>();
      let next = 0;
      const worker = async () => {
        while (next < due.length && !this.stopped) {
          const node = due[next++];
          const name = node.metadata?.name ?? '';
          try {
            round.set(name, await this.scrapeNode(node));
            this.backoff.delete(name);
            this.lastErrors.delete(name);
          } catch (e) {
            const b = this.backoff.get(name) ?? { failures: 0, retryAt: 0 };
            b.failures++;
            // The first failures retry every round; then back off, doubling, up to 5 minutes.
            const delay = b.failures <= 2 ? 0 : Math.min(MAX_BACKOFF_MS, this.opts.resolutionMs * 2 ** (b.failures - 2));
            b.retryAt = Date.now() + delay;
            this.backoff.set(name, b);
            const msg = (e as Error).message;
            if (this.lastErrors.get(name) !== msg) this.opts.log?.(`metrics: scraping node ${name}: ${msg}`);
            this.lastErrors.set(name, msg);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 32, due.length) }, worker));
      // Forget state of deleted nodes.
      const names = new Set(nodes.map((n) => n.metadata?.name));
      for (const n of this.backoff.keys()) if (!names.has(n)) this.backoff.delete(n);
      if (!this.stopped) this.opts.store.storeRound(round);
      this.rounds++;
    } finally {
      this.running = false;
    }
  }

  private scrapeNode(node: KObject): Promise<NodeScrape> {
    const { host, port } = this.opts.kubelet.resolve(node);
    const timeout = this.opts.timeoutMs ?? Math.min(10_000, Math.max(1000, Math.floor(this.opts.resolutionMs * 0.9)));
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const req = https.request({ host, port, path: '/metrics/resource', method: 'GET', agent: this.agent, timeout, headers: { Accept: 'text/plain' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error('response too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`GET https://${host}:${port}/metrics/resource: ${res.statusCode}: ${body.slice(0, 200).trim()}`));
          try {
            resolve(decodeResourceMetrics(body, started));
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET https://${host}:${port}/metrics/resource: timeout after ${timeout} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
