// Per-node state of a hollow-nodes run, kept as parallel arrays indexed by node index so that
// 5,000 nodes cost a few hundred kilobytes: no per-node objects, timers or closures.

/** A lease renewal of this node is queued or in flight. */
export const LEASE_BUSY = 1;
/** A node status write of this node is queued or in flight. */
export const STATUS_BUSY = 2;
/** Another status write is due as soon as the one in flight ends (the node was seen not Ready meanwhile). */
export const STATUS_AGAIN = 4;
/** A renewal came due while the previous one was still in flight: renew as soon as it ends. */
export const LEASE_AGAIN = 8;

export class NodeTable {
  readonly names: string[];
  /** Node name → index. */
  readonly index = new Map<string, number>();
  /** metadata.uid of the registered Node (for the Lease's owner reference). */
  readonly uids: (string | undefined)[];
  /** resourceVersion of the node's Lease as last written by us. */
  readonly leaseRv: (string | undefined)[];
  /** spec.podCIDR once the node IPAM controller has set it. */
  readonly podCIDR: (string | undefined)[];
  /** When Ready last became True (ms since epoch): the Ready condition's lastTransitionTime. */
  readonly readySince: Float64Array;
  /** Next pod address offset within the node's pod range. */
  readonly podIpCounter: Uint32Array;
  /** LEASE_BUSY | STATUS_BUSY | STATUS_AGAIN | LEASE_AGAIN. */
  readonly busy: Uint8Array;
  /**
   * 1 while the API shows the node's Ready condition not True (the node lifecycle controller
   * marked it Unknown after late heartbeats) and our status write putting it back has not
   * succeeded yet. Pod readiness is not restored on such a node until it has.
   */
  readonly notReady: Uint8Array;

  constructor(names: string[]) {
    const n = names.length;
    this.names = names;
    names.forEach((name, i) => this.index.set(name, i));
    this.uids = new Array(n).fill(undefined);
    this.leaseRv = new Array(n).fill(undefined);
    this.podCIDR = new Array(n).fill(undefined);
    this.readySince = new Float64Array(n);
    this.podIpCounter = new Uint32Array(n);
    this.busy = new Uint8Array(n);
    this.notReady = new Uint8Array(n);
  }

  get size(): number {
    return this.names.length;
  }
}
