// One list+watch of Nodes that keeps almost nothing (no cache of 5,000 nodes): the podCIDR the
// node IPAM controller assigns to our nodes (pod addresses then come from it), and whether one of
// our nodes is shown not Ready, which happens when the node lifecycle controller saw its
// heartbeats late and marked it Unknown. Such a node gets its status written again at once
// (onNotReady), as a kubelet that finds its node status changed behind its back does.
import { Reflector, type KObject } from '../client/index.js';
import type { HollowContext } from './context.js';

export interface NodeWatchHandlers {
  /** Our registered node i is shown with Ready not True. */
  onNotReady?: (i: number) => void;
}

export function watchNodes(ctx: HollowContext, handlers: NodeWatchHandlers = {}): Reflector {
  const { table } = ctx;
  const note = (node: KObject) => {
    const i = table.index.get(node.metadata?.name ?? '');
    if (i === undefined) return;
    const cidr = node.spec?.podCIDR;
    if (cidr) table.podCIDR[i] = cidr;
    // Only nodes we registered (a node of another process with our prefix is not ours to heal).
    if (!table.uids[i] || table.uids[i] !== node.metadata?.uid) return;
    const ready = (node.status?.conditions as KObject[] | undefined)?.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'True') {
      table.notReady[i] = 1;
      handlers.onNotReady?.(i);
    }
  };
  const reflector = new Reflector<KObject>(ctx.client.nodes, {
    replace: (items) => {
      for (const n of items) note(n);
    },
    apply: (type, node) => {
      if (type !== 'DELETED') note(node);
    },
  });
  reflector.start();
  return reflector;
}
