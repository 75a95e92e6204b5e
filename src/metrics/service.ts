// The metrics pipeline inside the API server: the store, the scraper over the kubelets of the
// cluster's nodes, and the metrics.k8s.io API answering from the store. Scraping starts on the
// first request to the API (kubectl top, the HPA controller), so a cluster nobody asks for
// metrics never dials its kubelets for them.
import type { KObject } from '../api/types.js';
import { kubeletEndpoint, type KubeletConnection } from '../apiserver/pod-proxy.js';
import type { Registry } from '../apiserver/registry.js';
import type { Resource } from '../apiserver/resource.js';
import type { MetricsApiSource } from './api.js';
import { MetricsScraper } from './scraper.js';
import { MetricsStore } from './store.js';

/** metrics-server's --metric-resolution as k3s runs it. */
export const DEFAULT_METRIC_RESOLUTION_MS = 15_000;

export interface MetricsServiceOptions {
  registry: Registry;
  /** The core v1 nodes and pods resources. */
  nodes: Resource;
  pods: Resource;
  /** How to reach kubelets; without it nothing is scraped and the API stays empty. */
  kubelet?: KubeletConnection;
  /** Scrape interval (default 15 s); 0 disables scraping. */
  resolutionMs?: number;
  /** Start scraping at once instead of on the first request. */
  eager?: boolean;
  log?: (msg: string) => void;
}

export class MetricsService implements MetricsApiSource {
  readonly store: MetricsStore;
  readonly scraper: MetricsScraper | undefined;

  constructor(private readonly opts: MetricsServiceOptions) {
    const resolutionMs = opts.resolutionMs ?? DEFAULT_METRIC_RESOLUTION_MS;
    this.store = new MetricsStore(resolutionMs);
    const k = opts.kubelet;
    if (k && resolutionMs > 0) {
      this.scraper = new MetricsScraper({
        listNodes: () => this.listNodes(),
        kubelet: { caPem: k.caPem, certPem: k.certPem, keyPem: k.keyPem, resolve: k.resolve ?? kubeletEndpoint },
        store: this.store,
        resolutionMs,
        log: opts.log ?? ((m) => process.emitWarning(m)),
      });
      if (opts.eager) this.scraper.start();
    }
  }

  onRequest(): void {
    if (this.scraper && !this.scraper.started) this.scraper.start();
  }

  listNodes(): KObject[] {
    return this.opts.registry.list(this.opts.nodes);
  }

  getNode(name: string): KObject | undefined {
    return this.opts.registry.entry(this.opts.nodes, undefined, name)?.obj;
  }

  listPods(namespace?: string): KObject[] {
    return this.opts.registry.list(this.opts.pods, namespace);
  }

  getPod(namespace: string, name: string): KObject | undefined {
    return this.opts.registry.entry(this.opts.pods, namespace, name)?.obj;
  }

  stop(): void {
    this.scraper?.stop();
  }
}
