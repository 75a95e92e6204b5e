// POST pods/<name>/eviction (policy/v1 Eviction): a pod deletion that respects the pod's
// PodDisruptionBudget (upstream pkg/registry/core/pod/storage/eviction.go). An allowed eviction
// takes one disruption from the budget — recorded in its status with a compare-and-swap write,
// the pod listed in status.disruptedPods until the disruption controller sees it gone — and
// then deletes the pod; a budget with no disruptions left answers 429 so clients
// (kubectl drain) retry later.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../api/types.js';
import { poddisruptionbudgets } from '../api/policy/poddisruptionbudget.js';
import { labelSelectorMatches } from '../api/validation.js';
import { ApiError, badRequest, forbidden, methodNotAllowed } from './errors.js';
import { decodeObject, readBody, sendJson, successStatus } from './http.js';
import type { HandlerEnv } from './handlers.js';
import type { DeleteOptions } from './registry.js';
import { nowRFC3339 } from './registry.js';
import { storagePrefix, toResource, type Resource } from './resource.js';
import type { RequestContext } from './context.js';

const PDB = toResource(poddisruptionbudgets);
/** Upstream MaxDisruptedPodSize: evictions the controller has not yet confirmed. */
const MAX_DISRUPTED_PODS = 2000;
const MAX_ATTEMPTS = 10;

function tooManyRequests(message: string, causes?: Array<{ reason: string; message: string }>): ApiError {
  return new ApiError(429, 'TooManyRequests', message, causes ? { causes } : undefined);
}

function isReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

/** Pods that may go without asking any budget (upstream canIgnorePDB). */
function canIgnorePDB(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

function budgetsFor(env: HandlerEnv, pod: KObject, ns: string): KObject[] {
  const prefix = storagePrefix(PDB, ns);
  const out: KObject[] = [];
  for (const [key, e] of env.cache.resource(PDB.storage).items) {
    if (key.startsWith(prefix) && labelSelectorMatches(e.obj.spec?.selector, pod.metadata?.labels)) out.push(e.obj);
  }
  return out;
}

function deleteOptionsOf(eviction: KObject): DeleteOptions {
  const o = eviction.deleteOptions ?? {};
  const out: DeleteOptions = {};
  if (o.gracePeriodSeconds != null) out.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.propagationPolicy) out.propagationPolicy = o.propagationPolicy;
  if (o.preconditions) out.preconditions = o.preconditions;
  if (o.dryRun) out.dryRun = o.dryRun;
  return out;
}

/** Takes one disruption from pdb, or throws why not. Returns the budget to write. */
function takeDisruption(pdb: KObject, podName: string): KObject {
  const status = pdb.status ?? {};
  const name = pdb.metadata!.name!;
  if ((status.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) {
    throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
      { reason: 'DisruptionBudget', message: `The disruption budget ${name} is still being processed by the server.` },
    ]);
  }
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbidden('pdb disruptions allowed is negative');
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS)
    throw forbidden('DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  if (allowed === 0) {
    throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
      {
        reason: 'DisruptionBudget',
        message: `The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`,
      },
    ]);
  }
  const next = structuredClone(pdb);
  next.status = { ...status, disruptionsAllowed: allowed - 1, disruptedPods: { ...(status.disruptedPods ?? {}), [podName]: nowRFC3339() } };
  return next;
}

export async function handleEviction(
  env: HandlerEnv,
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  ns: string,
  name: string,
): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed();
  const eviction = decodeObject(await readBody(req), req.headers['content-type']) ?? {};
  if (eviction.metadata?.name && eviction.metadata.name !== name) throw badRequest('name in URL does not match name in Eviction object');
  const opts = deleteOptionsOf(eviction);
  const dryRun = ctx.dryRun || (opts.dryRun ?? []).includes('All');
  const dctx: RequestContext = dryRun ? { ...ctx, dryRun: true } : ctx;

  const evict = async () => {
    await env.registry.delete(dctx, r, ns, name, opts);
    sendJson(res, 201, { ...successStatus(), code: 201 });
  };

  for (let attempt = 0; ; attempt++) {
    const pod = env.registry.get(r, ns, name);
    if (canIgnorePDB(pod)) return evict();
    const budgets = budgetsFor(env, pod, ns);
    if (budgets.length === 0) return evict();
    if (budgets.length > 1)
      throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    const pdb = budgets[0];
    if (!isReady(pod)) {
      // An unhealthy pod does not consume the budget when the budget is met anyway.
      const policy = pdb.spec?.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
      const st = pdb.status ?? {};
      if (policy === 'AlwaysAllow') return evict();
      if ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) return evict();
    }
    const next = takeDisruption(pdb, name);
    if (dryRun) return evict();
    try {
      await env.registry.update(ctx, PDB, ns, pdb.metadata!.name!, next, 'status');
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'Conflict' && attempt + 1 < MAX_ATTEMPTS) {
        await new Promise((res) => setTimeout(res, 1 + Math.random() * 4 * (attempt + 1)));
        continue;
      }
      throw e;
    }
    return evict();
  }
}
