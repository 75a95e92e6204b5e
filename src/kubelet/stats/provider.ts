// The kubelet's resource stats: node CPU/memory from the host, pod and container CPU/memory
// from the container runtime's CRI stats (ListContainerStats, ListPodSandboxStats), shaped like
// the parts of upstream's stats summary that /metrics/resource and /stats/summary expose.
import type { Container, ContainerStats, ContainerStatsFilter, PodSandbox, PodSandboxFilter, PodSandboxStats } from '../cri/types.js';
import { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from '../pods/labels.js';
import { readNodeCpu, readNodeMemory } from './host-stats.js';

export interface CpuStats {
  timestampMs: number;
  /** Cumulative CPU time, nanoseconds. */
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  timestampMs: number;
  workingSetBytes: number;
  usageBytes?: number;
  rssBytes?: number;
  availableBytes?: number;
}

export interface ContainerResourceStats {
  name: string;
  /** The container's creation time (upstream's StartTime for CRI stats), ms since the epoch. */
  startTimeMs: number;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface PodResourceStats {
  name: string;
  namespace: string;
  uid: string;
  /** The sandbox's creation time, ms since the epoch. */
  startTimeMs: number;
  cpu?: CpuStats;
  memory?: MemoryStats;
  containers: ContainerResourceStats[];
}

export interface ResourceStats {
  node: { startTimeMs?: number; cpu?: CpuStats; memory?: MemoryStats };
  pods: PodResourceStats[];
}

/** Where the kubelet server gets resource usage from. */
export interface StatsProvider {
  resourceStats(): Promise<ResourceStats>;
}

/** The CRI calls the provider needs (the CRI client's RuntimeApi has them all). */
export interface CriStatsSource {
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;
  listContainers(filter?: { state?: { state: 'CONTAINER_RUNNING' } }): Promise<Container[]>;
  listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]>;
  listPodSandboxStats?(filter?: { id?: string }): Promise<PodSandboxStats[]>;
}

export interface HostStatsSource {
  cpu(): Promise<CpuStats | undefined>;
  memory(): Promise<MemoryStats | undefined>;
}

/** Node stats from /proc. */
export const procHostStats: HostStatsSource = {
  cpu: () => readNodeCpu().catch(() => undefined),
  memory: () => readNodeMemory().catch(() => undefined),
};

const nsToMs = (ns: number) => Math.floor(ns / 1e6);

function cpuOf(u: ContainerStats['cpu'] | undefined): CpuStats | undefined {
  const v = u?.usageCoreNanoSeconds?.value;
  if (!u || v === undefined || v === null) return undefined;
  return { timestampMs: nsToMs(u.timestamp) || Date.now(), usageCoreNanoSeconds: Number(v) };
}

function memoryOf(u: ContainerStats['memory'] | undefined): MemoryStats | undefined {
  const ws = u?.workingSetBytes?.value;
  if (!u || ws === undefined || ws === null) return undefined;
  const out: MemoryStats = { timestampMs: nsToMs(u.timestamp) || Date.now(), workingSetBytes: Number(ws) };
  if (u.usageBytes) out.usageBytes = Number(u.usageBytes.value);
  if (u.rssBytes) out.rssBytes = Number(u.rssBytes.value);
  if (u.availableBytes) out.availableBytes = Number(u.availableBytes.value);
  return out;
}

/** Sums containers' CPU and memory into pod totals (when the runtime gives no sandbox stats). */
export function sumContainers(containers: ContainerResourceStats[]): { cpu?: CpuStats; memory?: MemoryStats } {
  let cpu: CpuStats | undefined;
  let memory: MemoryStats | undefined;
  for (const c of containers) {
    if (c.cpu) {
      cpu ??= { timestampMs: 0, usageCoreNanoSeconds: 0 };
      cpu.usageCoreNanoSeconds += c.cpu.usageCoreNanoSeconds;
      cpu.timestampMs = Math.max(cpu.timestampMs, c.cpu.timestampMs);
    }
    if (c.memory) {
      memory ??= { timestampMs: 0, workingSetBytes: 0 };
      memory.workingSetBytes += c.memory.workingSetBytes;
      memory.timestampMs = Math.max(memory.timestampMs, c.memory.timestampMs);
    }
  }
  return { cpu, memory };
}

/**
 * A StatsProvider over the CRI: ready sandboxes become pods, their running containers the
 * pods' containers. Pod totals come from ListPodSandboxStats (the pod cgroup, pause
 * included) when the runtime answers it, else from the sum of the containers.
 */
export function criStatsProvider(cri: CriStatsSource, host: HostStatsSource = procHostStats): StatsProvider {
  let sandboxStatsWork = typeof cri.listPodSandboxStats === 'function';
  return {
    async resourceStats(): Promise<ResourceStats> {
      const [sandboxes, containers, cstats, sstats, nodeCpu, nodeMem] = await Promise.all([
        cri.listPodSandbox({ state: { state: 'SANDBOX_READY' } }),
        cri.listContainers({ state: { state: 'CONTAINER_RUNNING' } }),
        cri.listContainerStats(),
        sandboxStatsWork
          ? cri.listPodSandboxStats!().catch(() => {
              // An older runtime (Unimplemented) or a transient failure: fall back to sums.
              sandboxStatsWork = false;
              return [] as PodSandboxStats[];
            })
          : Promise.resolve([] as PodSandboxStats[]),
        host.cpu(),
        host.memory(),
      ]);
      const statsById = new Map<string, ContainerStats>();
      for (const s of cstats) if (s.attributes?.id) statsById.set(s.attributes.id, s);
      const sandboxStatsById = new Map<string, PodSandboxStats>();
      for (const s of sstats) if (s.attributes?.id) sandboxStatsById.set(s.attributes.id, s);

      const bySandbox = new Map<string, ContainerResourceStats[]>();
      for (const c of containers) {
        const s = statsById.get(c.id);
        const list = bySandbox.get(c.podSandboxId) ?? [];
        bySandbox.set(c.podSandboxId, list);
        list.push({
          name: c.labels?.[CONTAINER_NAME_LABEL] || c.metadata?.name || '',
          startTimeMs: nsToMs(c.createdAt),
          cpu: cpuOf(s?.cpu),
          memory: memoryOf(s?.memory),
        });
      }

      const pods: PodResourceStats[] = [];
      for (const sb of sandboxes) {
        const name = sb.labels?.[POD_NAME_LABEL] || sb.metadata?.name;
        const namespace = sb.labels?.[POD_NAMESPACE_LABEL] || sb.metadata?.namespace;
        if (!name || !namespace) continue;
        const list = (bySandbox.get(sb.id) ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const linux = sandboxStatsById.get(sb.id)?.linux;
        const summed = sumContainers(list);
        pods.push({
          name,
          namespace,
          uid: sb.labels?.[POD_UID_LABEL] || sb.metadata?.uid || '',
          startTimeMs: nsToMs(sb.createdAt),
          cpu: cpuOf(linux?.cpu) ?? summed.cpu,
          memory: memoryOf(linux?.memory) ?? summed.memory,
          containers: list,
        });
      }
      pods.sort((a, b) => (a.namespace !== b.namespace ? (a.namespace < b.namespace ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { node: { cpu: nodeCpu, memory: nodeMem }, pods };
    },
  };
}
