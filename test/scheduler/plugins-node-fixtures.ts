// Small builders for scheduler plugin tests: nodes, pods, NodeInfos and a Handle over them.
import { newNodeInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { CycleState, type Handle, type NodeInfo, type NodeScore, type Plugin, type Pod } from '../../src/scheduler/framework/types.js';
import type { KObject } from '../../src/api/types.js';

export function makeNode(
  name: string,
  allocatable: Record<string, string | number> = {},
  extra: { labels?: Record<string, string>; taints?: any[]; unschedulable?: boolean; images?: any[] } = {},
): KObject {
  const alloc: Record<string, string> = { pods: '110' };
  for (const [k, v] of Object.entries(allocatable)) alloc[k] = String(v);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: extra.labels ?? {} },
    spec: { taints: extra.taints, unschedulable: extra.unschedulable },
    status: { allocatable: alloc, capacity: alloc, images: extra.images },
  };
}

let seq = 0;
/** A pod; each entry of `requests` becomes one container with those requests. */
export function makePod(
  opts: {
    name?: string;
    namespace?: string;
    requests?: Array<Record<string, string> | undefined>;
    initContainers?: any[];
    spec?: Record<string, any>;
  } = {},
): Pod {
  const name = opts.name ?? `p${++seq}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'default', uid: `uid-${name}-${seq}` },
    spec: {
      containers: (opts.requests ?? []).map((r, i) => ({ name: `c${i}`, image: 'busybox', resources: r ? { requests: r } : {} })),
      ...(opts.initContainers ? { initContainers: opts.initContainers } : {}),
      ...(opts.spec ?? {}),
    },
  };
}

export function nodeInfos(nodes: KObject[], podsByNode: Record<string, Pod[]> = {}): NodeInfo[] {
  return nodes.map((n) => newNodeInfo(n, podsByNode[n.metadata!.name!] ?? []));
}

export function makeHandle(nis: NodeInfo[], listers: Record<string, any> = {}, extra: Record<string, any> = {}): Handle {
  return {
    snapshot: snapshotOf(nis),
    listers: {
      namespaceLabels: () => undefined,
      priorityClass: () => undefined,
      pvc: () => undefined,
      pv: () => undefined,
      pdbs: () => [],
      ...listers,
    },
    ...extra,
  } as Handle;
}

/** Runs preScore (when present), score for each node and normalizeScore, as the framework would. */
export function scoreAll(plugin: Plugin, pod: Pod, nis: NodeInfo[], state = new CycleState()): NodeScore[] {
  plugin.preScore?.(state, pod, nis);
  const scores = nis.map((ni) => ({ name: ni.name, score: plugin.score!(state, pod, ni).score }));
  plugin.normalizeScore?.(state, pod, scores);
  return scores;
}
