// The resource metrics API (metrics.k8s.io/v1beta1), served in-process by the API server from
// the scraper's store, with metrics-server's behaviour:
//   GET /apis/metrics.k8s.io/v1beta1/nodes[/{name}]                       NodeMetrics(List)
//   GET /apis/metrics.k8s.io/v1beta1/pods                                 PodMetricsList, all namespaces
//   GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods[/{name}]        PodMetrics(List)
// Lists follow the Node/Pod objects (label and metadata field selectors apply to them) and
// leave out the ones without metrics yet; a get of one without metrics is NotFound
// (nodemetrics.metrics.k8s.io / podmetrics.metrics.k8s.io), of an unknown pod or node the
// object's own NotFound. Tables (`kubectl get podmetrics`) have metrics-server's columns.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject, ResourceDef } from '../api/types.js';
import { ApiError, methodNotAllowed, notFound } from '../apiserver/errors.js';
import { sendJson } from '../apiserver/http.js';
import { parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from '../apiserver/selectors.js';
import { parseIncludeObject, wantsTable, type IncludeObject } from '../apiserver/table.js';
import { formatBytes, formatNanoCores, goDuration, rfc3339 } from './format.js';
import type { MetricsStore, Usage } from './store.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/**
 * The two resources as discovery lists them (get and list only; no storage behind them). No
 * singular name, as metrics-server: clients then guess it from the kind, so "nodemetrics" and
 * "podmetrics" name them (`kubectl get podmetrics`, `kubectl explain podmetrics`).
 */
export const metricsResourceDefs: ResourceDef[] = [
  { group: METRICS_GROUP, version: METRICS_VERSION, kind: 'NodeMetrics', plural: 'nodes', singular: '', namespaced: false, verbs: ['get', 'list'], columns: [], row: () => [] },
  { group: METRICS_GROUP, version: METRICS_VERSION, kind: 'PodMetrics', plural: 'pods', singular: '', namespaced: true, verbs: ['get', 'list'], columns: [], row: () => [] },
];

/** What the API reads: the Node and Pod objects, and the usage store. */
export interface MetricsApiSource {
  store: MetricsStore;
  listNodes(): KObject[];
  getNode(name: string): KObject | undefined;
  /** All pods, or one namespace's. */
  listPods(namespace?: string): KObject[];
  getPod(namespace: string, name: string): KObject | undefined;
  /** Called on every request (the scraper starts on first demand). */
  onRequest?(): void;
}

function usageOf(u: Usage): Record<string, string> {
  return { cpu: formatNanoCores(u.cpuNanoCores), memory: formatBytes(u.memoryBytes) };
}

function meta(obj: KObject, now: number): Record<string, unknown> {
  const md = obj.metadata ?? {};
  return {
    name: md.name,
    ...(md.namespace ? { namespace: md.namespace } : {}),
    creationTimestamp: rfc3339(now),
    ...(md.labels && Object.keys(md.labels).length ? { labels: md.labels } : {}),
  };
}

export function nodeMetricsOf(src: MetricsApiSource, node: KObject, now = Date.now()): KObject | undefined {
  const u = src.store.nodeUsage(node.metadata?.name ?? '');
  if (!u) return undefined;
  return { kind: 'NodeMetrics', apiVersion: API_VERSION, metadata: meta(node, now), timestamp: rfc3339(u.timestampMs), window: goDuration(u.windowMs), usage: usageOf(u) };
}

export function podMetricsOf(src: MetricsApiSource, pod: KObject, now = Date.now()): KObject | undefined {
  const md = pod.metadata ?? {};
  const u = src.store.podUsage(md.namespace ?? '', md.name ?? '');
  if (!u) return undefined;
  // Containers in the pod spec's order (those the spec no longer names last, by name).
  const order = new Map<string, number>((pod.spec?.containers ?? []).map((c: KObject, i: number) => [c.name, i]));
  const containers = [...u.containers].sort((a, b) => (order.get(a.name) ?? 1e9) - (order.get(b.name) ?? 1e9) || (a.name < b.name ? -1 : 1));
  return {
    kind: 'PodMetrics',
    apiVersion: API_VERSION,
    metadata: meta(pod, now),
    timestamp: rfc3339(u.timestampMs),
    window: goDuration(u.windowMs),
    containers: containers.map((c) => ({ name: c.name, usage: usageOf(c.usage) })),
  };
}

/** metrics-server matches field selectors against the object's metadata.name/namespace only. */
function fieldsMatch(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = r.field === 'metadata.name' ? obj.metadata?.name : r.field === 'metadata.namespace' ? obj.metadata?.namespace : undefined;
    if (r.negate ? v === r.value : v !== r.value) return false;
  }
  return true;
}

function select(objs: KObject[], labels: LabelSelector, fields: FieldRequirement[]): KObject[] {
  return objs
    .filter((o) => labels.matches(o.metadata?.labels) && fieldsMatch(fields, o))
    .sort((a, b) => {
      const an = `${a.metadata?.namespace ?? ''}/${a.metadata?.name}`;
      const bn = `${b.metadata?.namespace ?? ''}/${b.metadata?.name}`;
      return an < bn ? -1 : an > bn ? 1 : 0;
    });
}

/** Handles a request under /apis/metrics.k8s.io/v1beta1/; parts are the path segments after it. */
export function handleMetricsRequest(src: MetricsApiSource, req: IncomingMessage, res: ServerResponse, parts: string[], q: URLSearchParams): void {
  src.onRequest?.();
  let namespace: string | undefined;
  let rest = parts;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const plural = rest[0];
  const name = rest[1];
  if (rest.length > 2 || (plural !== 'nodes' && plural !== 'pods') || (plural === 'nodes' && namespace !== undefined)) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  }
  if (req.method !== 'GET') throw methodNotAllowed();
  if (q.get('watch') === 'true' || q.get('watch') === '1') throw methodNotAllowed();
  const accept = req.headers.accept;
  const now = Date.now();

  if (name !== undefined) {
    let item: KObject | undefined;
    if (plural === 'nodes') {
      const node = src.getNode(name);
      // metrics-server looks nodes up in a typed lister, whose NotFound names the resource "node".
      if (!node) throw notFound('', 'node', name);
      item = nodeMetricsOf(src, node, now);
      if (!item) throw notFound(METRICS_GROUP, 'nodemetrics', name);
    } else {
      const ns = namespace ?? 'default';
      const pod = src.getPod(ns, name);
      if (!pod) throw notFound('', 'pods', name);
      item = podMetricsOf(src, pod, now);
      if (!item) throw notFound(METRICS_GROUP, 'podmetrics', `${ns}/${name}`);
    }
    if (wantsTable(accept)) return sendJson(res, 200, table(plural, [item], parseIncludeObject(q.get('includeObject'))));
    return sendJson(res, 200, item);
  }

  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'));
  const items: KObject[] = [];
  if (plural === 'nodes') {
    for (const node of select(src.listNodes(), labels, fields)) {
      const m = nodeMetricsOf(src, node, now);
      if (m) items.push(m);
    }
  } else {
    for (const pod of select(src.listPods(namespace), labels, fields)) {
      const m = podMetricsOf(src, pod, now);
      if (m) items.push(m);
    }
  }
  if (wantsTable(accept)) return sendJson(res, 200, table(plural, items, parseIncludeObject(q.get('includeObject'))));
  sendJson(res, 200, { kind: plural === 'nodes' ? 'NodeMetricsList' : 'PodMetricsList', apiVersion: API_VERSION, metadata: {}, items });
}

/** metrics-server's table: Name, cpu, memory (a pod's summed over its containers), Window. */
function table(plural: string, items: KObject[], include: IncludeObject): KObject {
  const rows = items.map((m) => {
    let cpu = m.usage?.cpu;
    let memory = m.usage?.memory;
    if (plural === 'pods') {
      let c = 0;
      let b = 0;
      for (const ct of m.containers ?? []) {
        c += parseNano(ct.usage.cpu);
        b += parseBytes(ct.usage.memory);
      }
      cpu = formatNanoCores(c);
      memory = formatBytes(b);
    }
    const row: KObject = { cells: [m.metadata?.name, cpu, memory, m.window] };
    if (include === 'Object') row.object = m;
    else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: m.metadata };
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name of the resource', priority: 0 },
      { name: 'cpu', type: 'string', format: 'quantity', description: '', priority: 0 },
      { name: 'memory', type: 'string', format: 'quantity', description: '', priority: 0 },
      { name: 'Window', type: 'string', format: 'duration', description: '', priority: 0 },
    ],
    rows,
  };
}

const DEC: Record<string, number> = { n: 1, u: 1e3, m: 1e6, '': 1e9, k: 1e12, M: 1e15, G: 1e18 };
const BIN: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** Inverse of formatNanoCores. */
function parseNano(q: string): number {
  const m = /^(\d+)([numkMG]?)$/.exec(q);
  return m ? Number(m[1]) * DEC[m[2]] : 0;
}

/** Inverse of formatBytes. */
function parseBytes(q: string): number {
  const m = /^(\d+)((?:[KMGTPE]i)?)$/.exec(q);
  return m ? Number(m[1]) * BIN[m[2]] : 0;
}
