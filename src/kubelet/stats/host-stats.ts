// Node-level CPU and memory from the host's /proc, the way cAdvisor's root container reports
// them: cumulative CPU time of all CPUs (everything but idle and iowait), and a working set of
// "memory in use minus inactive page cache" (usage - inactive_file).
import { readFile } from 'node:fs/promises';

/** USER_HZ: the unit of /proc/stat counters (100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

export interface NodeCpuSample {
  /** When the sample was taken (ms since the epoch). */
  timestampMs: number;
  /** Cumulative CPU time across all CPUs, in nanoseconds. */
  usageCoreNanoSeconds: number;
}

export interface NodeMemorySample {
  timestampMs: number;
  workingSetBytes: number;
  /** MemAvailable, for /stats/summary's availableBytes. */
  availableBytes: number;
  /** MemTotal - MemFree (cache included), cAdvisor's usage of the root cgroup. */
  usageBytes: number;
}

/**
 * Cumulative busy CPU time from the aggregate "cpu" line of /proc/stat, in nanoseconds:
 * user + nice + system + irq + softirq + steal (guest time is already inside user/nice).
 */
export function parseProcStatCpu(text: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return undefined;
  const [user, nice, system, , , irq = 0, softirq = 0, steal = 0] = f;
  const ticks = user + nice + system + irq + softirq + steal;
  return Math.round((ticks * 1e9) / USER_HZ);
}

/** The kB fields of /proc/meminfo, in bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1], Number(m[2]) * (line.endsWith('kB') ? 1024 : 1));
  }
  return out;
}

/** Working set as cAdvisor computes it for the root cgroup: usage - inactive file pages (not below 0). */
export function memoryFromMeminfo(info: Map<string, number>, timestampMs: number): NodeMemorySample | undefined {
  const total = info.get('MemTotal');
  const free = info.get('MemFree');
  if (total === undefined || free === undefined) return undefined;
  const usage = total - free;
  const inactiveFile = info.get('Inactive(file)') ?? 0;
  return {
    timestampMs,
    usageBytes: usage,
    workingSetBytes: Math.max(0, usage - inactiveFile),
    availableBytes: info.get('MemAvailable') ?? free,
  };
}

export async function readNodeCpu(procDir = '/proc'): Promise<NodeCpuSample | undefined> {
  const text = await readFile(`${procDir}/stat`, 'utf8');
  const usage = parseProcStatCpu(text);
  return usage === undefined ? undefined : { timestampMs: Date.now(), usageCoreNanoSeconds: usage };
}

export async function readNodeMemory(procDir = '/proc'): Promise<NodeMemorySample | undefined> {
  const text = await readFile(`${procDir}/meminfo`, 'utf8');
  return memoryFromMeminfo(parseMeminfo(text), Date.now());
}
