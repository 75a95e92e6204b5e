// Resource metrics for the HPA: per-pod usage from the resource metrics API
// (metrics.k8s.io/v1beta1 PodMetrics, served by metrics-server). Injectable so tests and other
// sources can stand in.
import type { Client } from '../../client/index.js';
import { parseQuantity } from '../resourcequota/quantity.js';
import type { PodMetricsInfo } from './replica-calculator.js';

/** Usage of resource by the pods selected by selector (optionally one container's only). */
export type ResourceMetricsSource = (namespace: string, selector: string, resource: string, container?: string) => Promise<PodMetricsInfo>;

function durationMs(s: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(s ?? ''));
  if (!m) return 30_000;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

export function resourceMetricsFromApi(client: Client): ResourceMetricsSource {
  return async (namespace, selector, resource, container) => {
    let list: any;
    try {
      list = await client.rest.request('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`, {
        query: { labelSelector: selector || undefined },
      });
    } catch (e) {
      const code = (e as any)?.code;
      const why = code === 404 ? 'the server could not find the requested resource (get pods.metrics.k8s.io)' : (e as Error).message;
      throw new Error(`unable to fetch metrics from resource metrics API: ${why}`);
    }
    const out: PodMetricsInfo = new Map();
    for (const item of list?.items ?? []) {
      let sum = 0;
      let found = false;
      for (const c of item.containers ?? []) {
        if (container && c.name !== container) continue;
        const q = parseQuantity(c.usage?.[resource]);
        if (!q) continue;
        sum += Number(q.milli);
        found = true;
      }
      if (!found) continue;
      out.set(item.metadata?.name, { value: sum, timestamp: Date.parse(item.timestamp ?? '') || Date.now(), windowMs: durationMs(item.window) });
    }
    if (!out.size) throw new Error('no metrics returned from resource metrics API');
    return out;
  };
}
