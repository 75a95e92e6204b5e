// GET /stats/summary: the CPU and memory parts of upstream's stats summary (kubelet
// stats/v1alpha1 Summary), for tools that read it instead of /metrics/resource. Network,
// filesystem and rlimit sections are not collected.
import type { CpuStats, MemoryStats, PodResourceStats, ResourceStats } from './provider.js';

const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function cpu(c: CpuStats | undefined): Record<string, unknown> | undefined {
  return c && { time: time(c.timestampMs), usageCoreNanoSeconds: c.usageCoreNanoSeconds };
}

function memory(m: MemoryStats | undefined): Record<string, unknown> | undefined {
  if (!m) return undefined;
  return {
    time: time(m.timestampMs),
    ...(m.availableBytes !== undefined ? { availableBytes: m.availableBytes } : {}),
    ...(m.usageBytes !== undefined ? { usageBytes: m.usageBytes } : {}),
    workingSetBytes: m.workingSetBytes,
    ...(m.rssBytes !== undefined ? { rssBytes: m.rssBytes } : {}),
  };
}

function pod(p: PodResourceStats): Record<string, unknown> {
  return {
    podRef: { name: p.name, namespace: p.namespace, uid: p.uid },
    startTime: time(p.startTimeMs),
    containers: p.containers.map((c) => ({ name: c.name, startTime: time(c.startTimeMs), cpu: cpu(c.cpu), memory: memory(c.memory) })),
    cpu: cpu(p.cpu),
    memory: memory(p.memory),
  };
}

export function statsSummary(nodeName: string, stats: ResourceStats, nodeStartMs?: number): Record<string, unknown> {
  return {
    node: {
      nodeName,
      ...(nodeStartMs ? { startTime: time(nodeStartMs) } : {}),
      cpu: cpu(stats.node.cpu),
      memory: memory(stats.node.memory),
    },
    pods: stats.pods.map(pod),
  };
}
