// GET /metrics/resource: the kubelet's resource metrics in the Prometheus text format (0.0.4),
// with upstream's metric names, HELP texts, label names and per-sample timestamps, which is what
// metrics-server (and skiff's in-process scraper) read.
import type { PodResourceStats, ResourceStats } from './provider.js';

export const PROMETHEUS_TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  lines: string[];
}

function family(name: string, help: string, type: 'counter' | 'gauge'): Family {
  return { name, help, type, lines: [] };
}

/** Label value escaping of the text format: backslash, double quote and newline. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Labels in sorted name order, as the Go client prints them. */
function labels(pairs: [string, string][]): string {
  if (!pairs.length) return '';
  return `{${pairs.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}

function sample(f: Family, lbl: [string, string][], value: number, timestampMs?: number): void {
  f.lines.push(`${f.name}${labels(lbl)} ${value}${timestampMs !== undefined ? ` ${Math.floor(timestampMs)}` : ''}`);
}

/** Renders the /metrics/resource body; without stats (they could not be read) only resource_scrape_error 1. */
export function renderResourceMetrics(stats: ResourceStats | undefined): string {
  const containerStart = family('container_start_time_seconds', 'Start time of the container since unix epoch in seconds', 'gauge');
  const containerCpu = family('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the container in core-seconds', 'counter');
  const containerMem = family('container_memory_working_set_bytes', 'Current working set of the container in bytes', 'gauge');
  const nodeCpu = family('node_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the node in core-seconds', 'counter');
  const nodeMem = family('node_memory_working_set_bytes', 'Current working set of the node in bytes', 'gauge');
  const podCpu = family('pod_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the pod in core-seconds', 'counter');
  const podMem = family('pod_memory_working_set_bytes', 'Current working set of the pod in bytes', 'gauge');
  const scrapeError = family('resource_scrape_error', '1 if there was an error while getting container metrics, 0 otherwise', 'gauge');

  if (stats) {
    const n = stats.node;
    if (n.cpu) sample(nodeCpu, [], n.cpu.usageCoreNanoSeconds / 1e9, n.cpu.timestampMs);
    if (n.memory) sample(nodeMem, [], n.memory.workingSetBytes, n.memory.timestampMs);
    for (const p of stats.pods) podSamples(p, { containerStart, containerCpu, containerMem, podCpu, podMem });
  }
  sample(scrapeError, [], stats ? 0 : 1);

  // Families in name order, as the Go registry gathers them; empty families are left out.
  const all = [containerCpu, containerMem, containerStart, nodeCpu, nodeMem, podCpu, podMem, scrapeError];
  let out = '';
  for (const f of all) {
    if (!f.lines.length) continue;
    out += `# HELP ${f.name} [STABLE] ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}

function podSamples(
  p: PodResourceStats,
  f: { containerStart: Family; containerCpu: Family; containerMem: Family; podCpu: Family; podMem: Family },
): void {
  for (const c of p.containers) {
    const lbl: [string, string][] = [
      ['container', c.name],
      ['namespace', p.namespace],
      ['pod', p.name],
    ];
    if (c.startTimeMs > 0) sample(f.containerStart, lbl, c.startTimeMs / 1000);
    if (c.cpu) sample(f.containerCpu, lbl, c.cpu.usageCoreNanoSeconds / 1e9, c.cpu.timestampMs);
    if (c.memory) sample(f.containerMem, lbl, c.memory.workingSetBytes, c.memory.timestampMs);
  }
  const lbl: [string, string][] = [
    ['namespace', p.namespace],
    ['pod', p.name],
  ];
  if (p.cpu) sample(f.podCpu, lbl, p.cpu.usageCoreNanoSeconds / 1e9, p.cpu.timestampMs);
  if (p.memory) sample(f.podMem, lbl, p.memory.workingSetBytes, p.memory.timestampMs);
}
