// The Node object the kubelet registers and the status it keeps current (upstream's
// kubelet_node_status.go): capacity/allocatable from the host, addresses, nodeInfo, the four
// conditions (pressure measured on the host, see pressure.ts), images. Status is recomputed every 10 s and written when it changed, or at least
// every 5 minutes (nodeStatusReportFrequency); liveness in between comes from the Lease.
import { isAlreadyExists, isConflict, isNotFound, rfc3339, type Client, type KObject } from '../../client/index.js';
import type { KubeletRuntime, Image } from '../runtime/types.js';
import type { HostInfo } from './host-info.js';
import { pressureOf, PressureTracker, type Pressure, type PressureSignals } from './pressure.js';
import type { KubeletLog } from '../log.js';
import { DEFAULT_KUBELET_PORT } from '../server/server.js';

export const KUBELET_VERSION = 'v1.32.4';
export const MAX_PODS = 110;
const MAX_IMAGES = 50;
/** Hard eviction thresholds that upstream subtracts from capacity for allocatable. */
const EVICTION_MEMORY = 100 * 2 ** 20;
const EVICTION_NODEFS_FRACTION = 0.1;

export interface NodeStatusOptions {
  client: Client;
  nodeName: string;
  runtime: KubeletRuntime;
  host: () => HostInfo;
  log: KubeletLog;
  labels?: Record<string, string>;
  /** Set as spec.podCIDR(s) at registration when the node has none. */
  podCIDR?: string;
  /** status.daemonEndpoints.kubeletEndpoint.Port: where the kubelet server listens (default 10250). */
  kubeletPort?: number;
  /** Status computation period (default 10 s). */
  updateIntervalMs?: number;
  /** Unchanged status is still written this often (default 5 min). */
  reportIntervalMs?: number;
  /** The host's pressure signals (default: none, so no pressure is reported). */
  pressureSignals?: () => PressureSignals;
  /** Extra readiness check (e.g. "the CNI config is written"); a string is the NotReady message. */
  notReadyReason?: () => string | undefined;
}

const kib = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;

export function nodeLabels(nodeName: string, host: HostInfo, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': host.arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': host.arch,
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    ...extra,
  };
}

export function capacity(host: HostInfo): { capacity: Record<string, string>; allocatable: Record<string, string> } {
  return {
    capacity: {
      cpu: String(host.cpu),
      'ephemeral-storage': kib(host.ephemeralStorageBytes),
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: kib(host.memoryBytes),
      pods: String(MAX_PODS),
    },
    allocatable: {
      cpu: String(host.cpu),
      'ephemeral-storage': String(Math.floor(host.ephemeralStorageBytes * (1 - EVICTION_NODEFS_FRACTION))),
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
      memory: kib(Math.max(0, host.memoryBytes - EVICTION_MEMORY)),
      pods: String(MAX_PODS),
    },
  };
}

export function nodeImages(images: Image[]): KObject[] {
  return [...images]
    .sort((a, b) => b.size - a.size)
    .slice(0, MAX_IMAGES)
    .map((i) => ({ names: [...i.repoDigests, ...i.repoTags], sizeBytes: i.size }));
}

interface ConditionSpec {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export function nodeConditions(notReady: string | undefined, pressure: Pressure = { memory: false, disk: false, pid: false }): ConditionSpec[] {
  return [
    pressure.memory
      ? { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available' }
      : { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
    pressure.disk
      ? { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' }
      : { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
    pressure.pid
      ? { type: 'PIDPressure', status: 'True', reason: 'KubeletHasInsufficientPID', message: 'kubelet has insufficient PID available' }
      : { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
    notReady
      ? { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: notReady }
      : { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
  ];
}

/** The status without time stamps: what "changed" is judged on. */
function fingerprint(status: KObject): string {
  const conds = (status.conditions ?? []).map((c: KObject) => [c.type, c.status, c.reason, c.message]);
  return JSON.stringify({ ...status, conditions: conds });
}

export class NodeStatusManager {
  private timer?: NodeJS.Timeout;
  private lastWritten = '';
  private lastWriteAt = 0;
  private prevConditions: KObject[] = [];
  private runtimeVersion = '';
  private stopped = false;
  private running?: Promise<void>;
  private readonly pressure = new PressureTracker();
  /** The registered node (uid for the lease owner reference). */
  node?: KObject;

  constructor(private readonly o: NodeStatusOptions) {}

  /** Creates the Node (or adopts an existing one) with a full status; retries until it succeeds or stop(). */
  async register(): Promise<KObject> {
    const v = await this.o.runtime.version();
    this.runtimeVersion = `${v.runtimeName}://${v.runtimeVersion}`;
    for (let delay = 200; ; delay = Math.min(delay * 2, 7000)) {
      try {
        this.node = await this.registerOnce();
        return this.node;
      } catch (e) {
        if (this.stopped) throw e;
        this.o.log('warning', `unable to register node ${this.o.nodeName}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async registerOnce(): Promise<KObject> {
    const { client, nodeName } = this.o;
    const host = this.o.host();
    const spec: KObject = {};
    if (this.o.podCIDR) {
      spec.podCIDR = this.o.podCIDR;
      spec.podCIDRs = [this.o.podCIDR];
    }
    const node: KObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: nodeName,
        labels: nodeLabels(nodeName, host, this.o.labels),
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec,
    };
    let cur: KObject;
    try {
      cur = await client.nodes.create(null, node);
      this.o.log('info', `registered node ${nodeName}`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      cur = await client.nodes.get(null, nodeName);
      // Reconcile what the kubelet owns on an existing node: its labels and, if unset, the pod CIDR.
      const patch: KObject = { metadata: { labels: nodeLabels(nodeName, host, this.o.labels) } };
      if (this.o.podCIDR && !cur.spec?.podCIDR) patch.spec = spec;
      cur = await client.nodes.patch(null, nodeName, patch, 'merge');
      this.o.log('info', `node ${nodeName} already registered; updated`);
    }
    this.prevConditions = cur.status?.conditions ?? [];
    return (await this.writeStatus(true)) ?? cur;
  }

  /** Builds the status now (runtime images and conditions included). */
  async computeStatus(): Promise<KObject> {
    const host = this.o.host();
    const { capacity: cap, allocatable } = capacity(host);
    let notReady = this.o.notReadyReason?.();
    let images: KObject[] = [];
    try {
      const conds = await this.o.runtime.status();
      const bad = conds.filter((c) => !c.status);
      if (bad.length && !notReady) {
        const c = bad.find((x) => x.type === 'RuntimeReady') ?? bad[0];
        notReady = c.type === 'NetworkReady'
          ? `container runtime network not ready: NetworkReady=false reason:${c.reason ?? ''} message:${c.message ?? ''}`
          : `container runtime is down: ${c.type}=false reason:${c.reason ?? ''} message:${c.message ?? ''}`;
      }
      images = nodeImages(await this.o.runtime.listImages());
    } catch (e) {
      notReady = `container runtime is down: ${(e as Error).message}`;
    }
    const now = rfc3339();
    const pressure = this.pressure.observe(pressureOf(this.o.pressureSignals?.() ?? {}));
    const conditions = nodeConditions(notReady, pressure).map((c) => {
      const prev = this.prevConditions.find((p) => p.type === c.type);
      const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
      return { ...c, lastHeartbeatTime: now, lastTransitionTime };
    });
    const addresses: KObject[] = [];
    if (host.internalIP) addresses.push({ type: 'InternalIP', address: host.internalIP });
    addresses.push({ type: 'Hostname', address: host.hostname });
    return {
      capacity: cap,
      allocatable,
      conditions,
      addresses,
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort ?? DEFAULT_KUBELET_PORT } },
      nodeInfo: {
        machineID: host.machineID,
        systemUUID: host.systemUUID,
        bootID: host.bootID,
        kernelVersion: host.kernelVersion,
        osImage: host.osImage,
        containerRuntimeVersion: this.runtimeVersion,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: host.arch,
      },
      images,
    };
  }

  /** Writes the status if it changed (or force / the report interval passed); returns the node when written. */
  async writeStatus(force = false): Promise<KObject | undefined> {
    const status = await this.computeStatus();
    const fp = fingerprint(status);
    const reportMs = this.o.reportIntervalMs ?? 5 * 60_000;
    if (!force && fp === this.lastWritten && Date.now() - this.lastWriteAt < reportMs) return undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const node = await this.o.client.nodes.patch(null, this.o.nodeName, { status }, 'merge', { subresource: 'status' });
        this.lastWritten = fp;
        this.lastWriteAt = Date.now();
        this.prevConditions = status.conditions;
        this.node = node;
        return node;
      } catch (e) {
        if (!isConflict(e) || attempt === 4) throw e;
      }
    }
    return undefined;
  }

  start(): void {
    const every = this.o.updateIntervalMs ?? 10_000;
    const tick = () => {
      if (this.stopped || this.running) return;
      this.running = this.writeStatus()
        .then(() => undefined)
        .catch((e) => {
          if (isNotFound(e)) {
            // Someone deleted our Node: register again, as the kubelet does on restart.
            this.o.log('warning', `node ${this.o.nodeName} not found; registering again`);
            return this.registerOnce().then(() => undefined);
          }
          this.o.log('warning', `error updating node status: ${(e as Error).message}`);
        })
        .catch((e) => this.o.log('warning', `error registering node: ${(e as Error).message}`))
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, every);
  }

  /** Recompute and write now (e.g. when CNI became ready). */
  poke(): void {
    if (this.stopped) return;
    void this.writeStatus().catch((e) => this.o.log('warning', `error updating node status: ${(e as Error).message}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
