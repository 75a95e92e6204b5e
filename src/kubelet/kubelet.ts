// The kubelet: registers the Node and keeps its status and Lease fresh, writes the node's CNI
// config once it has a pod CIDR, and runs the pods bound to it (from the API server and from
// static manifests) through the container runtime, one serialized worker per pod. Runs in
// `skiff server`/`skiff agent` (startKubelet) or alone (`skiff kubelet`).
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  EventRecorder,
  GVR,
  isNotFound,
  SharedInformerFactory,
  type Client,
  type KObject,
  type SharedInformer,
} from '../client/index.js';
import { containerdPaths } from './containerd/paths.js';
import { StaticPodSource } from './config/static-pods.js';
import { defaultKubeletLog, type KubeletLog } from './log.js';
import { DEFAULT_BRIDGE } from './network/cni-config.js';
import { reconcilePodNetwork, type PodNetworkResult } from './network/pod-network.js';
import { capacity } from './node/node-status.js';
import { hostInfo, type HostInfo } from './node/host-info.js';
import { NodeLease } from './node/lease.js';
import { NodeStatusManager } from './node/node-status.js';
import { readPressureSignals } from './node/pressure.js';
import { openNodeRuntime, type NodeRuntime } from './node-runtime.js';
import { Pleg } from './pleg.js';
import { Backoff } from './pods/backoff.js';
import { isMirrorPod, podFullName } from './pods/labels.js';
import { PodSync } from './pods/pod-sync.js';
import { PodWorkers } from './pods/pod-workers.js';
import { hostDNS, type DnsOptions } from './pods/runtime-config.js';
import { serviceEnv } from './pods/service-env.js';
import { StatusManager, type StatusTarget } from './pods/status-manager.js';
import { ProbeManager } from './prober/manager.js';
import type { KubeletRuntime } from './runtime/types.js';
import { TokenManager } from './volumes/token-manager.js';
import { setupPodVolumes, teardownPodVolumes } from './volumes/volume-manager.js';

export interface KubeletOptions {
  client: Client;
  nodeName: string;
  /** skiff's data dir: pods under <dataDir>/agent/pods, logs under <dataDir>/agent/logs/pods. */
  dataDir: string;
  /** A ready runtime (tests, fakes). Else containerdSocket, else skiff's containerd is started. */
  runtime?: KubeletRuntime;
  /** Use the containerd at this socket instead of starting one. */
  containerdSocket?: string;
  /** Where the node's CNI conflist goes (default: skiff containerd's conf dir under dataDir). */
  cniConfDir?: string;
  /** Used when the node has no spec.podCIDR (no node IPAM controller): registered with the node. */
  podCIDR?: string;
  /** Static pod manifests. */
  podManifestPath?: string;
  /** The cluster CA (PEM), served as kube-root-ca.crt until that ConfigMap exists. */
  clusterCA?: string;
  /** Extra node labels (e.g. node-role.kubernetes.io/control-plane). */
  nodeLabels?: Record<string, string>;
  /** Override of the InternalIP address. */
  nodeIP?: string;
  hostnameOverride?: string;
  bridgeName?: string;
  /** Where this node's kubelet server listens: status.daemonEndpoints.kubeletEndpoint.Port (default 10250). */
  kubeletPort?: number;
  /** Cluster DNS (none yet: ClusterFirst pods get the host's resolv.conf). */
  clusterDNS?: string[];
  clusterDomain?: string;
  log?: KubeletLog;
  /** Periodic pod resync: volume refresh and status (default 30 s). */
  resyncIntervalMs?: number;
  nodeStatusUpdateIntervalMs?: number;
  nodeStatusReportIntervalMs?: number;
  leaseRenewIntervalMs?: number;
  plegIntervalMs?: number;
  gcIntervalMs?: number;
  /** How often a pod network change blocked by running pods (or failed) is tried again (default 5 s). */
  networkRetryIntervalMs?: number;
  staticPodIntervalMs?: number;
  /** CrashLoopBackOff (default 10 s doubling to 5 min). */
  crashLoopBackoff?: { baseMs?: number; maxMs?: number };
  imagePullBackoff?: { baseMs?: number; maxMs?: number };
}

export interface Kubelet {
  readonly nodeName: string;
  readonly runtime: KubeletRuntime;
  /** The CNI conf dir the kubelet writes to. */
  readonly cniConfDir: string;
  /**
   * The pods this kubelet runs (upstream's GetPods, served as GET /pods): the API pods bound to
   * this node and the static pods (not their mirror pods), each with the status the kubelet
   * last generated for it. Pods whose source deleted them are left out.
   */
  listPods(): KObject[];
  /** One of those pods by namespace and name (upstream's GetPodByName), for logs, exec, attach. */
  getPod(namespace: string, name: string): KObject | undefined;
  /** Stops the kubelet (pods keep running, as with upstream's kubelet; a new kubelet adopts them). */
  stop(): Promise<void>;
}

/** The status manager, remembering the last status generated per target (written or not). */
class RecordingStatusManager extends StatusManager {
  /** status target uid (the mirror pod's for a static pod) -> the kubelet's latest status. */
  readonly latest = new Map<string, KObject>();

  override set(target: StatusTarget, status: KObject): Promise<KObject | undefined> {
    this.latest.set(target.uid, status);
    return super.set(target, status);
  }

  override forget(uid: string): void {
    this.latest.delete(uid);
    super.forget(uid);
  }
}

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const log = opts.log ?? defaultKubeletLog();
  const { client, nodeName } = opts;
  const agentDir = join(opts.dataDir, 'agent');
  const podsDir = join(agentDir, 'pods');
  const logRoot = join(agentDir, 'logs', 'pods');
  mkdirSync(podsDir, { recursive: true });
  mkdirSync(logRoot, { recursive: true });

  let owned: NodeRuntime | undefined;
  let runtime: KubeletRuntime;
  let cniConfDir = opts.cniConfDir ?? containerdPaths(opts.dataDir).cniConfDir;
  if (opts.runtime) runtime = opts.runtime;
  else {
    owned = await openNodeRuntime({ dataDir: opts.dataDir, containerdSocket: opts.containerdSocket, cniConfDir, log });
    runtime = owned.runtime;
    cniConfDir = opts.cniConfDir ?? owned.cniConfDir;
  }

  let host: HostInfo = hostInfo(opts.dataDir, opts.hostnameOverride);
  const readHost = () => {
    host = hostInfo(opts.dataDir, opts.hostnameOverride);
    if (opts.nodeIP) host.internalIP = opts.nodeIP;
    return host;
  };
  readHost();
  const hostIP = () => host.internalIP;

  const recorder = new EventRecorder({ client, reportingController: 'kubelet', reportingInstance: nodeName });
  const nodeStatus = new NodeStatusManager({
    client,
    nodeName,
    runtime,
    host: readHost,
    log,
    labels: opts.nodeLabels,
    podCIDR: opts.podCIDR,
    kubeletPort: opts.kubeletPort,
    pressureSignals: () => readPressureSignals(opts.dataDir),
    updateIntervalMs: opts.nodeStatusUpdateIntervalMs,
    reportIntervalMs: opts.nodeStatusReportIntervalMs,
  });
  await nodeStatus.register();
  const lease = new NodeLease({ client, nodeName, log, nodeUid: () => nodeStatus.node?.metadata?.uid, renewIntervalMs: opts.leaseRenewIntervalMs });
  lease.start();
  nodeStatus.start();

  // --- the pod network ---
  let networkReady = false;
  let podCIDR: string | undefined;
  let netPoll: NodeJS.Timeout | undefined;
  let stopped = false;
  const checkNetwork = async () => {
    try {
      const conds = await runtime.status();
      const ok = conds.find((c) => c.type === 'NetworkReady')?.status ?? false;
      if (ok && !networkReady) {
        networkReady = true;
        log('info', `pod network ready${podCIDR ? ` (${podCIDR})` : ''}`);
        nodeStatus.poke();
        for (const uid of workers.uids()) workers.kick(uid);
      }
      return ok;
    } catch {
      return false;
    }
  };
  // The network follows the node's pod CIDR: the CNI config and the bridge address (a node that
  // joined again may have another range); while pods of an old range still run, it waits.
  const bridge = opts.bridgeName ?? DEFAULT_BRIDGE;
  const nodeRef = { kind: 'Node', name: nodeName, uid: nodeName };
  let wantCIDR: string | undefined;
  let netRetry: NodeJS.Timeout | undefined;
  let netChain: Promise<void> = Promise.resolve();
  let blockedNote = '';
  const retryNetwork = (cidr: string) => {
    clearTimeout(netRetry);
    netRetry = setTimeout(() => (netChain = netChain.then(() => applyNetwork(cidr))), opts.networkRetryIntervalMs ?? 5000);
  };
  const applyNetwork = async (cidr: string) => {
    if (stopped || cidr !== wantCIDR) return;
    let res: PodNetworkResult;
    try {
      res = await reconcilePodNetwork({ podCIDR: cidr, bridge, cniConfDir, runtime });
    } catch (e) {
      log('error', `setting up the pod network for ${cidr}: ${(e as Error).message}`);
      return retryNetwork(cidr);
    }
    if (res.state === 'blocked') {
      const note = `node pod CIDR is ${cidr}, but pods of the previous range ${res.previous.join(', ')} still run on bridge ${bridge}: ${res.pods.join(', ')}; the CNI config and bridge address keep the old range until they are gone`;
      if (note !== blockedNote) {
        log('warning', note);
        recorder.event(nodeRef, 'Warning', 'PodCIDRChangePending', 'SetupNetwork', note);
        blockedNote = note;
      }
      return retryNetwork(cidr);
    }
    blockedNote = '';
    podCIDR = cidr;
    if (res.previous) {
      const note = `pod CIDR changed from ${res.previous.join(', ')} to ${cidr}: CNI config rewritten${res.bridgeFixed.length ? `, bridge ${bridge} address ${res.bridgeFixed.join(', ')} replaced` : ''}`;
      log('info', note);
      recorder.event(nodeRef, 'Normal', 'PodCIDRChanged', 'SetupNetwork', note);
    }
    log('info', `${res.written ? 'wrote' : 'kept'} CNI config for pod CIDR ${cidr} in ${cniConfDir}`);
    // containerd notices the conf dir change on its own; wait until it reports the network ready.
    clearInterval(netPoll);
    netPoll = setInterval(() => {
      if (stopped) return clearInterval(netPoll);
      void checkNetwork().then((ok) => ok && clearInterval(netPoll));
    }, 250);
  };
  const onNode = (node: KObject) => {
    const cidr: string | undefined = node.spec?.podCIDR ?? opts.podCIDR;
    if (!cidr || cidr === wantCIDR) return;
    wantCIDR = cidr;
    clearTimeout(netRetry);
    netChain = netChain.then(() => applyNetwork(cidr));
  };
  if (nodeStatus.node) onNode(nodeStatus.node);
  void checkNetwork();

  // --- pods ---
  const factory = new SharedInformerFactory(client);
  const podInformer: SharedInformer = factory.informer(GVR.pods, { fieldSelector: `spec.nodeName=${nodeName}` });
  const nodeInformer: SharedInformer = factory.informer(GVR.nodes, { fieldSelector: `metadata.name=${nodeName}` });
  const serviceInformer: SharedInformer = factory.informer(GVR.services);
  const crashBackoff = new Backoff({ baseMs: opts.crashLoopBackoff?.baseMs, maxMs: opts.crashLoopBackoff?.maxMs });
  const pullBackoff = new Backoff({ baseMs: opts.imagePullBackoff?.baseMs, maxMs: opts.imagePullBackoff?.maxMs });
  const tokens = new TokenManager(client);
  const statusManager = new RecordingStatusManager(client, log);
  const getOrUndefined = (p: Promise<KObject>) => p.catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  const configMap = (ns: string, name: string) => getOrUndefined(client.configMaps.get(ns, name));
  const secret = (ns: string, name: string) => getOrUndefined(client.secrets.get(ns, name));
  const claim = (ns: string, name: string) => getOrUndefined(client.persistentVolumeClaims.get(ns, name));
  const volume = (name: string) => getOrUndefined(client.persistentVolumes.get(null, name));
  const dns = (): DnsOptions => ({ host: hostDNS(), clusterDNS: opts.clusterDNS, clusterDomain: opts.clusterDomain });

  let workers!: PodWorkers;
  const probes = new ProbeManager({ runtime, recorder, onChange: (uid) => workers.kick(uid) });
  const sync = new PodSync({
    runtime,
    recorder,
    log,
    probes,
    crashBackoff,
    pullBackoff,
    podsDir,
    logRoot,
    dns,
    memoryCapacity: host.memoryBytes,
    volumes: async (pod, podIP) => {
      const res = await setupPodVolumes(pod, {
        podsDir,
        tokens,
        configMap,
        secret,
        claim,
        volume,
        clusterCA: opts.clusterCA,
        podIP,
        hostIP: hostIP(),
        nodeAllocatable: capacity(host).allocatable,
      });
      for (const w of res.warnings) log('warning', `pod ${podFullName(pod)}: ${w}`);
      return res.volumes;
    },
    envSources: (pod, podIP) => ({
      configMap,
      secret,
      podIP,
      hostIP: hostIP(),
      nodeAllocatable: capacity(host).allocatable,
      serviceEnv: serviceEnv(pod, serviceInformer.list(pod.metadata?.namespace ?? 'default'), serviceInformer.list('default')),
    }),
  });

  let staticPods: StaticPodSource | undefined;
  const statusTarget = (pod: KObject): StatusTarget | undefined => {
    if (staticPods?.isStatic(pod)) {
      const m = staticPods.mirrorOf(pod);
      return m ? { namespace: m.metadata!.namespace!, name: m.metadata!.name!, uid: m.metadata!.uid! } : undefined;
    }
    return { namespace: pod.metadata?.namespace ?? 'default', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
  };
  // uids of pods their source deleted: their workers still tear them down, but the kubelet no
  // longer lists them (upstream's pod manager forgets a pod on REMOVE).
  const removedUids = new Set<string>();
  workers = new PodWorkers({
    client,
    sync,
    status: statusManager,
    probes,
    log,
    hostIP,
    resyncMs: opts.resyncIntervalMs,
    isStatic: (pod) => staticPods?.isStatic(pod) ?? false,
    statusTarget,
    cleanup: async (uid) => {
      await teardownPodVolumes(podsDir, uid);
      tokens.forgetPod(uid);
    },
    waitReason: (pod) => (pod.spec?.hostNetwork || networkReady ? undefined : 'network is not ready: container runtime network not ready (no CNI config yet)'),
  });

  podInformer.addEventHandler({
    onAdd: (pod) => {
      if (isMirrorPod(pod)) return staticPods?.observeMirror(pod, false);
      workers.update(pod);
    },
    onUpdate: (_old, pod) => {
      if (isMirrorPod(pod)) return staticPods?.observeMirror(pod, false);
      workers.update(pod);
    },
    onDelete: (pod) => {
      if (isMirrorPod(pod)) {
        staticPods?.observeMirror(pod, true);
        staticPods?.scan(); // recreate it
        return;
      }
      removedUids.add(pod.metadata?.uid ?? '');
      workers.remove(pod.metadata?.uid ?? '');
    },
  });
  nodeInformer.addEventHandler({ onAdd: (n) => onNode(n), onUpdate: (_o, n) => onNode(n) });

  if (opts.podManifestPath) {
    staticPods = new StaticPodSource({
      dir: opts.podManifestPath,
      nodeName,
      client,
      log,
      nodeUid: () => nodeStatus.node?.metadata?.uid,
      onUpdate: (pod) => workers.update(pod),
      onRemove: (uid) => {
        removedUids.add(uid);
        workers.remove(uid);
      },
      intervalMs: opts.staticPodIntervalMs,
    });
  }

  const pleg = new Pleg({ runtime, log, intervalMs: opts.plegIntervalMs, onChange: (uids) => uids.forEach((u) => workers.kick(u)) });
  factory.start();
  await factory.waitForCacheSync();
  staticPods?.start();
  pleg.start();

  // --- garbage collection ---
  let gcBusy = false;
  const gc = async () => {
    if (gcBusy || stopped) return;
    gcBusy = true;
    try {
      for (const uid of workers.uids()) await sync.gcPod(uid).catch((e) => log('warning', `container GC for ${uid}: ${(e as Error).message}`));
      await pleg.relist();
      for (const uid of pleg.runtimeUids) {
        if (workers.has(uid)) continue;
        log('info', `removing runtime objects of unknown pod ${uid}`);
        await sync.removePod(uid).catch((e) => log('warning', `removing orphaned pod ${uid}: ${(e as Error).message}`));
        await teardownPodVolumes(podsDir, uid).catch(() => undefined);
      }
      for (const uid of safeReaddir(podsDir)) if (!workers.has(uid) && !pleg.runtimeUids.has(uid)) await teardownPodVolumes(podsDir, uid).catch(() => undefined);
      crashBackoff.gc();
      pullBackoff.gc();
      // Statuses and removal marks of pods whose workers are gone.
      for (const uid of removedUids) if (!workers.has(uid)) removedUids.delete(uid);
      const targets = new Set(workers.uids().map((u) => statusTarget(workers.pod(u)!)?.uid));
      for (const uid of statusManager.latest.keys()) if (!targets.has(uid)) statusManager.latest.delete(uid);
    } finally {
      gcBusy = false;
    }
  };
  const gcTimer = setInterval(() => void gc(), opts.gcIntervalMs ?? 60_000);

  /** A running pod as the kubelet sees it: its source's object with the status last generated. */
  const kubeletView = (pod: KObject): KObject => {
    const target = statusTarget(pod);
    const status = target && statusManager.latest.get(target.uid);
    return status ? { ...pod, status } : pod;
  };
  const runningPods = function* (): Generator<KObject> {
    for (const uid of workers.uids()) {
      const pod = workers.pod(uid);
      if (pod && !removedUids.has(uid)) yield pod;
    }
  };

  log('info', `kubelet started on node ${nodeName} (CNI conf ${cniConfDir})`);
  return {
    nodeName,
    runtime,
    cniConfDir,
    listPods: () => [...runningPods()].map(kubeletView),
    getPod(namespace, name) {
      // The newest pod of that name wins (a recreated pod while the old one still terminates).
      let found: KObject | undefined;
      for (const pod of runningPods()) if (pod.metadata?.name === name && (pod.metadata?.namespace ?? 'default') === namespace) found = pod;
      return found && kubeletView(found);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(gcTimer);
      clearInterval(netPoll);
      clearTimeout(netRetry);
      await netChain;
      pleg.stop();
      factory.stop();
      await staticPods?.stop();
      await workers.stop();
      probes.stop();
      await lease.stop();
      await nodeStatus.stop();
      await recorder.stop().catch(() => undefined);
      await owned?.stop();
    },
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
