// The scheduling framework's contract (upstream: pkg/scheduler/framework/interface.go):
// extension points, the status they return, and the node view plugins read. Plugins are plain
// objects implementing any subset of the extension-point methods; out-of-tree plugins export a
// factory with the same shape (see docs/scheduler-plugins.md).
import type { KObject } from '../../api/types.js';
import type { PodIndex } from './pod-index.js';

export type Pod = KObject;
export type Node = KObject;

/** Status codes as upstream's framework.Code. */
export enum Code {
  Success = 0,
  Error = 1,
  /** The pod does not fit now; preemption may help. */
  Unschedulable = 2,
  /** The pod does not fit and preemption cannot help (e.g. node selector mismatch). */
  UnschedulableAndUnresolvable = 3,
  Wait = 4,
  Skip = 5,
  Pending = 6,
}

export class Status {
  constructor(
    readonly code: Code,
    /** Human-readable reasons; FailedScheduling messages count nodes per reason. */
    readonly reasons: string[] = [],
    /** Name of the plugin that returned it (set by the framework). */
    public plugin = '',
  ) {}
  static success(): Status {
    return SUCCESS;
  }
  static unschedulable(...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons);
  }
  static unresolvable(...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons);
  }
  static error(message: string): Status {
    return new Status(Code.Error, [message]);
  }
  static skip(): Status {
    return SKIP;
  }
  isSuccess(): boolean {
    return this.code === Code.Success;
  }
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }
}
const SUCCESS = new Status(Code.Success);
const SKIP = new Status(Code.Skip);

/** Resource quantities in canonical units: cpu in millicores, memory/storage in bytes, others as counts. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Pod count (allocatable "pods"; each pod requests 1). */
  pods: number;
  /** Extended and other scalar resources, e.g. "example.com/gpu": 2. */
  scalar: Record<string, number>;
}

/** A pod as the scheduler's cache holds it, with derived data computed once. */
export interface PodInfo {
  pod: Pod;
  /** Sum of container requests (max with init containers, plus overhead), canonical units. */
  requests: Resources;
  /** Host ports the pod uses: "protocol/hostIP/port". */
  hostPorts: string[];
  /** Required affinity/anti-affinity terms, parsed (undefined when the pod has none). */
  requiredAffinityTerms?: AffinityTerm[];
  requiredAntiAffinityTerms?: AffinityTerm[];
  preferredAffinityTerms?: WeightedAffinityTerm[];
  preferredAntiAffinityTerms?: WeightedAffinityTerm[];
}

export interface AffinityTerm {
  /** Compiled labelSelector: matches(labels). */
  selector: { matches(labels: Record<string, string> | undefined): boolean };
  /** Namespaces the term applies to (empty plus namespaceSelector === undefined: the pod's own). */
  namespaces: Set<string>;
  /** Compiled namespaceSelector; undefined when absent. An empty selector matches all namespaces. */
  namespaceSelector?: { matches(labels: Record<string, string> | undefined): boolean };
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** What the scheduler knows about one node: the node, its pods (bound and assumed) and totals. */
export interface NodeInfo {
  node: Node;
  name: string;
  pods: PodInfo[];
  /** Pods with (anti-)affinity terms, a subset of pods, for InterPodAffinity. */
  podsWithAffinity: PodInfo[];
  podsWithRequiredAntiAffinity: PodInfo[];
  allocatable: Resources;
  /** Sum of pods' requests. */
  requested: Resources;
  /** Like requested, but counting 100m CPU / 200 MiB for containers that request nothing (upstream's non-zero defaults used by scoring). */
  nonZeroRequested: Resources;
  /** "protocol/hostIP/port" -> count. */
  usedPorts: Map<string, number>;
  /** Image name -> size in bytes, from node.status.images. */
  images: Map<string, number>;
  /** Bumped on every change, so snapshots can be incremental. */
  generation: number;
}

/** Per-cycle scratch space: PreFilter/PreScore data keyed by plugin. */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins whose PreFilter returned Skip: their Filter is not run this cycle. */
  readonly skipFilter = new Set<string>();
  readonly skipScore = new Set<string>();
  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  /** A copy for what-if runs (preemption, nominated pods): values with clone() are cloned. */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v && typeof (v as { clone?: unknown }).clone === 'function' ? (v as { clone(): unknown }).clone() : v);
    for (const s of this.skipFilter) c.skipFilter.add(s);
    for (const s of this.skipScore) c.skipScore.add(s);
    return c;
  }
}

/** Read-only view of the cluster for one scheduling cycle. */
export interface Snapshot {
  nodes(): NodeInfo[];
  get(nodeName: string): NodeInfo | undefined;
  /** Nodes that have at least one pod with affinity / required anti-affinity. */
  havePodsWithAffinity(): NodeInfo[];
  havePodsWithRequiredAntiAffinity(): NodeInfo[];
  /**
   * Optional indexes over the snapshot's pods (the scheduler's snapshot has them; a plain list of
   * NodeInfos in tests does not). Plugins use them only when their node list is nodes().
   */
  podIndex?(): PodIndex;
  /** Nodes reporting an image under exactly this name. */
  imageNodeCount?(name: string): number;
  /** Changes whenever a node's labels may have changed (for per-cycle memos over node labels). */
  nodeLabelGeneration?(): number;
  /** Sequence number of the last NodeInfo replacement in nodes(). */
  changeSeq?(): number;
  /** NodeInfos replaced after seq, oldest first; undefined when they are no longer known. */
  changesSince?(seq: number): ReadonlyArray<NodeChange> | undefined;
}

/** One NodeInfo of a snapshot replaced by a newer one (same node). */
export interface NodeChange {
  before: NodeInfo;
  after: NodeInfo;
}

/** Cluster objects plugins may need beyond nodes and pods (from informers). */
export interface Listers {
  namespaceLabels(name: string): Record<string, string> | undefined;
  priorityClass(name: string): KObject | undefined;
  pvc(namespace: string, name: string): KObject | undefined;
  pv(name: string): KObject | undefined;
  pdbs(namespace: string): KObject[];
  storageClass?(name: string): KObject | undefined;
  /** All PersistentVolumes (VolumeBinding looks for matching unbound ones). */
  pvs?(): KObject[];
  /** Services, ReplicaSets, StatefulSets... selecting the pod (for default topology spread). */
  selectorsForPod?(pod: Pod): Array<{ matches(labels: Record<string, string> | undefined): boolean }>;
}

/** What the framework gives plugins. */
export interface Handle {
  snapshot: Snapshot;
  listers: Listers;
  /** Evicts a victim (preemption): deletes the pod through the API. */
  deletePod?(pod: Pod, reason: string): Promise<void>;
  /** Sets status.nominatedNodeName on the preemptor; nodeName '' clears a nomination. */
  nominate?(pod: Pod, nodeName: string): Promise<void>;
  /** Pods nominated to a node (preemptors waiting for victims to go). */
  nominatedPods?(nodeName: string): PodInfo[];
  /** Runs the profile's filter plugins for a pod on a node (used by preemption dry runs). */
  runFilters?(state: CycleState, pod: Pod, node: NodeInfo): Status;
  /** Runs PreFilter extensions' AddPod/RemovePod so filters see a hypothetical node state. */
  runPreFilterAddPod?(state: CycleState, pod: Pod, toAdd: PodInfo, node: NodeInfo): Status;
  runPreFilterRemovePod?(state: CycleState, pod: Pod, toRemove: PodInfo, node: NodeInfo): Status;
}

export interface NodeScore {
  name: string;
  score: number;
}

/** Upstream's MaxNodeScore: scores are normalized to 0..100. */
export const MAX_NODE_SCORE = 100;

export interface PreFilterResult {
  /** When set, only these nodes are considered (e.g. NodeName, NodeAffinity on metadata.name). */
  nodeNames?: Set<string>;
}

export interface PostFilterResult {
  nominatedNodeName?: string;
}

/** Why each node was rejected: node name -> status. */
export type NodeToStatus = Map<string, Status>;

/**
 * A scheduler plugin. Every method is optional; implement the extension points you need.
 * `name` must be unique within a profile. Scores are 0..MAX_NODE_SCORE after normalization.
 */
export interface Plugin {
  readonly name: string;
  preFilter?(state: CycleState, pod: Pod, nodes: NodeInfo[]): { result?: PreFilterResult; status: Status };
  /** PreFilter extensions: update state when a pod is hypothetically added/removed (preemption). */
  addPod?(state: CycleState, pod: Pod, toAdd: PodInfo, node: NodeInfo): Status;
  removePod?(state: CycleState, pod: Pod, toRemove: PodInfo, node: NodeInfo): Status;
  filter?(state: CycleState, pod: Pod, node: NodeInfo): Status;
  postFilter?(state: CycleState, pod: Pod, filtered: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status }>;
  preScore?(state: CycleState, pod: Pod, nodes: NodeInfo[]): Status;
  score?(state: CycleState, pod: Pod, node: NodeInfo): { score: number; status: Status };
  normalizeScore?(state: CycleState, pod: Pod, scores: NodeScore[]): Status;
  reserve?(state: CycleState, pod: Pod, nodeName: string): Status;
  unreserve?(state: CycleState, pod: Pod, nodeName: string): void;
  permit?(state: CycleState, pod: Pod, nodeName: string): { status: Status; timeoutMs?: number };
  preBind?(state: CycleState, pod: Pod, nodeName: string): Promise<Status>;
  bind?(state: CycleState, pod: Pod, nodeName: string): Promise<Status>;
  postBind?(state: CycleState, pod: Pod, nodeName: string): void;
  /** Cluster events after which pods this plugin rejected may fit again (queueing hints). */
  eventsToRegister?(): ClusterEvent[];
}

export type ClusterEventResource = 'Pod' | 'Node' | 'PersistentVolumeClaim' | 'PersistentVolume' | 'Namespace' | 'PodDisruptionBudget' | 'StorageClass';
export type ClusterEventAction = 'Add' | 'Update' | 'Delete' | 'UpdateNodeLabel' | 'UpdateNodeTaint' | 'UpdateNodeAllocatable' | 'UpdatePodLabel' | 'All';
export interface ClusterEvent {
  resource: ClusterEventResource;
  action: ClusterEventAction;
}

/** Arguments from KubeSchedulerConfiguration pluginConfig, by plugin name. */
export type PluginArgs = Record<string, unknown>;

/** How a plugin is constructed: from its args and the framework handle. */
export type PluginFactory = (args: PluginArgs | undefined, handle: Handle) => Plugin;
