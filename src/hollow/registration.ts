// Registering hollow nodes: create each Node with its status (as the kubelet registers), or adopt
// one that already exists (left over from an earlier run) by taking its uid and podCIDR and
// writing a fresh status.
import { isAlreadyExists, isNotFound, type KObject } from '../client/index.js';
import type { HollowContext } from './context.js';

/** Registers every node of the table, at most limiter-many at once. Rejects on the first hard failure. */
export async function registerNodes(ctx: HollowContext): Promise<void> {
  const { table } = ctx;
  let failure: unknown;
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < table.size; i++) {
    all.push(
      ctx.limiter
        .run(() => registerNode(ctx, i))
        .catch((e) => {
          failure ??= e;
        }),
    );
  }
  await Promise.all(all);
  if (failure) throw failure;
}

export async function registerNode(ctx: HollowContext, i: number): Promise<void> {
  const { table, profile, client } = ctx;
  const name = table.names[i];
  const now = new Date();
  try {
    const created = await client.nodes.create(null, profile.node(i, name, now));
    table.readySince[i] = now.getTime();
    noteNode(ctx, i, created);
    ctx.stats.nodesCreated++;
    return;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  // Adopt: the node is ours from now on; its spec (labels, taints) stays as it is.
  const existing = await client.nodes.get(null, name);
  const ready = (existing.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  const since = ready?.status === 'True' ? Date.parse(ready.lastTransitionTime) : NaN;
  table.readySince[i] = Number.isFinite(since) ? since : now.getTime();
  noteNode(ctx, i, existing);
  await writeNodeStatus(ctx, i);
  ctx.stats.nodesAdopted++;
}

/** Records what we track of a Node object the server returned. */
export function noteNode(ctx: HollowContext, i: number, node: KObject): void {
  ctx.table.uids[i] = node.metadata?.uid;
  const cidr = node.spec?.podCIDR;
  if (cidr) ctx.table.podCIDR[i] = cidr;
}

/**
 * PUT nodes/<name>/status with the full status, heartbeat now (like the kubelet, this also sets
 * Ready back to True if the node lifecycle controller marked it Unknown). A node deleted behind
 * our back is registered again.
 */
export async function writeNodeStatus(ctx: HollowContext, i: number): Promise<void> {
  const { table, profile } = ctx;
  const name = table.names[i];
  // Back from Unknown: Ready becomes True again, a new transition like the kubelet reports.
  const recovering = table.notReady[i] === 1;
  if (recovering) table.readySince[i] = Date.now();
  const body = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    status: profile.status(i, name, new Date(table.readySince[i]), new Date()),
  };
  try {
    const node = await ctx.heartbeatClient.nodes.updateStatus(null, body);
    noteNode(ctx, i, node);
    ctx.stats.nodeStatusUpdates++;
    if (recovering) {
      table.notReady[i] = 0;
      ctx.stats.nodesRecovered++;
      ctx.nodeRecovered(i);
    }
  } catch (e) {
    if (!isNotFound(e) || ctx.stopped) throw e;
    ctx.log('warning', `node ${name} is gone; registering it again`);
    table.uids[i] = undefined;
    table.podCIDR[i] = undefined;
    table.leaseRv[i] = undefined;
    await registerNode(ctx, i);
  }
}
