// One list+watch of Nodes that keeps nothing but the podCIDR the node IPAM controller assigns to
// our nodes (pod addresses then come from it). Objects are dropped as soon as they are read, so
// this costs no cache of 5,000 nodes.
import { Reflector, type KObject } from '../client/index.js';
import type { HollowContext } from './context.js';

export function watchPodCIDRs(ctx: HollowContext): Reflector {
  const { table } = ctx;
  const note = (node: KObject) => {
    const i = table.index.get(node.metadata?.name ?? '');
    if (i === undefined) return;
    const cidr = node.spec?.podCIDR;
    if (cidr) table.podCIDR[i] = cidr;
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
