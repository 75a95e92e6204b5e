// The loop every queue-driven controller runs: wait for the informers, run workers until the
// manager's signal aborts, then shut the queue down and wait for in-flight syncs.
import { clientLog, runWorkers, type WorkQueue } from '../../client/index.js';
import type { ControllerContext } from '../types.js';

export async function runQueueWorkers(
  name: string,
  ctx: ControllerContext,
  ready: Promise<void>,
  queue: WorkQueue<string>,
  sync: (key: string) => Promise<void>,
): Promise<void> {
  const onAbort = () => queue.shutdown();
  if (ctx.signal.aborted) return onAbort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  await ready;
  if (ctx.signal.aborted) return;
  await runWorkers(queue, ctx.options.workers, sync, {
    onError: (key, err, requeues) => clientLog('warning', `${name}: sync ${key} failed (retry ${requeues + 1}): ${(err as Error)?.message ?? err}`),
  });
}
