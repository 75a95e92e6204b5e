// The node IPAM controller (upstream pkg/controller/nodeipam, range allocator): gives every
// node a pod CIDR (spec.podCIDR and spec.podCIDRs) carved from the cluster CIDR, never twice,
// and takes it back when the node is deleted. The set of taken blocks is rebuilt from the nodes
// themselves on every start.
import type { KObject } from '../../api/types.js';
import { GVR, WorkQueue, clientLog, isNotFound, type EventRecorder, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { CIDRRangeFullError, CIDRSet } from './cidr-set.js';

/** How long a node waits before we look for a free block again after the range was full. */
const FULL_RETRY_MS = 10_000;

function podCIDRsOf(node: KObject): string[] {
  const list: string[] = node.spec?.podCIDRs ?? [];
  if (list.length) return list;
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

function nodeRef(node: KObject) {
  // Upstream refers to nodes in events with the name as uid.
  return { apiVersion: 'v1', kind: 'Node', name: node.metadata!.name!, uid: node.metadata!.name! };
}

export class NodeIpamController implements Controller {
  readonly name = 'node-ipam';
  private readonly queue = new WorkQueue<string>();
  /** Blocks handed to nodes whose informer copy does not show them yet (node name → CIDR). */
  private readonly pending = new Map<string, string>();
  /** Nodes that found the range full: retried as soon as a block is released. */
  private readonly waiting = new Set<string>();
  private cidrs?: CIDRSet;
  private nodes!: SharedInformer;
  private client!: ResourceClient;
  private recorder!: EventRecorder;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    try {
      this.cidrs = new CIDRSet(ctx.options.clusterCIDR.split(',')[0]!, ctx.options.nodeCIDRMaskSize);
    } catch (e) {
      clientLog('error', `node-ipam: ${(e as Error).message}; not allocating pod CIDRs`);
      return Promise.resolve();
    }
    this.nodes = ctx.informers.informer(GVR.nodes);
    this.client = ctx.client.resource(GVR.nodes);
    this.recorder = ctx.recorder('cidrAllocator');
    this.nodes.addEventHandler({
      onAdd: (n) => this.observe(n),
      onUpdate: (_o, n) => this.observe(n),
      onDelete: (n) => this.nodeDeleted(n),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (name) => this.sync(name));
  }

  /** Nodes with a CIDR occupy it; nodes without one wait in the queue. */
  private observe(node: KObject): void {
    const name = node.metadata!.name!;
    const have = podCIDRsOf(node);
    if (have.length === 0) {
      if (!node.metadata?.deletionTimestamp) this.queue.add(name);
      return;
    }
    const mine = this.pending.get(name);
    if (mine !== undefined) {
      this.pending.delete(name);
      if (!have.includes(mine)) this.cidrs!.release(mine);
    }
    for (const c of have) this.cidrs!.occupy(c);
  }

  private nodeDeleted(node: KObject): void {
    const name = node.metadata!.name!;
    this.waiting.delete(name);
    const freed = [...podCIDRsOf(node)];
    const mine = this.pending.get(name);
    if (mine !== undefined) {
      this.pending.delete(name);
      freed.push(mine);
    }
    for (const c of freed) this.cidrs!.release(c);
    if (freed.length) for (const w of this.waiting) this.queue.add(w);
  }

  async sync(name: string): Promise<void> {
    const node = this.nodes.get(null, name);
    if (!node || node.metadata?.deletionTimestamp || podCIDRsOf(node).length) return;
    let cidr = this.pending.get(name);
    if (cidr === undefined) {
      try {
        cidr = this.cidrs!.allocateNext();
      } catch (e) {
        if (!(e instanceof CIDRRangeFullError)) throw e;
        this.recorder.event(nodeRef(node), 'Normal', 'CIDRNotAvailable', 'CIDRAssignment', `Node ${name} status is now: CIDRNotAvailable`);
        this.waiting.add(name);
        this.queue.addAfter(name, FULL_RETRY_MS);
        return;
      }
      this.waiting.delete(name);
      this.pending.set(name, cidr);
    }
    try {
      await this.client.patch(null, name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } }, 'merge');
    } catch (e) {
      if (isNotFound(e)) {
        if (this.pending.get(name) === cidr) {
          this.pending.delete(name);
          this.cidrs!.release(cidr);
          for (const w of this.waiting) this.queue.add(w);
        }
        return;
      }
      throw e;
    }
  }

  /** For tests and diagnostics: how many blocks are taken. */
  get allocatedCount(): number {
    return this.cidrs?.allocated ?? 0;
  }
}
