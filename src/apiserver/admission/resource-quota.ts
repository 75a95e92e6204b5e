// ResourceQuota admission (upstream plugin/pkg/admission/resourcequota): a write in a
// namespace with quotas is charged against every quota that accounts for it. It is refused
// (403) when a quota would be exceeded or when a cpu/memory quota's per-container requirement
// is not met; otherwise the increment is recorded in the quotas' status.used with a
// compare-and-swap write before the object is stored, so concurrent writes cannot both take the
// last unit. The resource quota controller later reconciles usage (e.g. after deletions).
import type { KObject } from '../../api/types.js';
import { ApiError, qualifiedResource } from '../errors.js';
import type { Resource } from '../resource.js';
import { storagePrefix } from '../resource.js';
import { systemContext } from '../context.js';
import type { AdmissionEnv } from './index.js';
import type { AdmissionAttributes, ValidatingAdmission } from './types.js';
import {
  handlesUpdate,
  matchingResources,
  podConstraintError,
  quotaMatches,
  usageOf,
  type GroupResource,
} from '../../controllers/resourcequota/evaluators.js';
import {
  addLists,
  fromResourceList,
  mask,
  prettyPrint,
  subtractNonNegative,
  toResourceList,
  type ResourceList,
} from '../../controllers/resourcequota/quantity.js';

const QUOTA_PATH = '/v1/resourcequotas';
const MAX_ATTEMPTS = 20;

/** 403 as upstream's admission.NewForbidden words it. */
function quotaForbidden(r: Resource, name: string | undefined, why: string): ApiError {
  const res = qualifiedResource(r.group, r.plural);
  const message = name ? `${res} "${name}" is forbidden: ${why}` : `${res} is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, { ...(name ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.plural });
}

/** The quotas of a namespace (shared cached objects: never mutated here). */
function quotasIn(env: AdmissionEnv, r: Resource, ns: string): KObject[] {
  return env.registry.list(r, ns);
}

/** Whether every limited resource has a recorded usage (otherwise the controller has not caught up). */
function hasUsageStats(rq: KObject, restricted: string[]): boolean {
  const used = rq.status?.used ?? {};
  const set = new Set(restricted);
  return Object.keys(rq.status?.hard ?? {}).every((k) => !set.has(k) || k in used);
}

function isZeroList(l: ResourceList): boolean {
  for (const v of l.values()) if (v.milli !== 0n) return false;
  return true;
}

export class ResourceQuotaAdmission implements ValidatingAdmission {
  readonly name = 'ResourceQuota';

  constructor(private readonly env: AdmissionEnv) {}

  async validate(a: AdmissionAttributes): Promise<void> {
    if (a.subresource || !a.resource.namespaced || !a.namespace) return;
    const gr: GroupResource = { group: a.resource.group, plural: a.resource.plural };
    if (a.operation === 'UPDATE' && !handlesUpdate(gr)) return;
    const quotaRes = this.env.resource(QUOTA_PATH);
    if (!quotaRes) return;
    const ns = a.namespace;
    const charged = new Set<string>(); // quota uids already charged by an earlier attempt
    for (let attempt = 0; ; attempt++) {
      const quotas = quotasIn(this.env, quotaRes, ns).filter((q) => Object.keys(q.status?.hard ?? q.spec?.hard ?? {}).length);
      if (!quotas.length) return;
      const updates = this.check(a, gr, quotas, charged);
      if (!updates.length || a.ctx.dryRun) return;
      let conflicted = false;
      for (const { rq, used } of updates) {
        const next = { ...rq, status: { ...rq.status, used: fromResourceList(used) } };
        try {
          await this.env.registry.update(systemContext('resourcequota-admission'), quotaRes, ns, rq.metadata!.name!, next, 'status');
          charged.add(rq.metadata!.uid!);
        } catch (e) {
          if (e instanceof ApiError && e.reason === 'Conflict') {
            conflicted = true;
            continue;
          }
          if (e instanceof ApiError && e.code === 404) continue;
          throw e;
        }
      }
      if (!conflicted) return;
      if (attempt + 1 >= MAX_ATTEMPTS)
        throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on resourcequotas: too many concurrent quota updates, please retry`);
      // The winner's write may not be in the watch cache yet: give it a moment before re-reading.
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 4 * (attempt + 1)));
    }
  }

  /** Checks obj against quotas; the quotas whose usage grows, with their new used lists. */
  private check(a: AdmissionAttributes, gr: GroupResource, quotas: KObject[], charged: Set<string>): Array<{ rq: KObject; used: ResourceList }> {
    const obj = a.obj;
    const name = obj.metadata?.name;
    const now = Date.now();
    const interesting: KObject[] = [];
    for (const rq of quotas) {
      const hardNames = Object.keys(rq.status?.hard ?? {});
      if (!quotaMatches(rq, hardNames, gr, obj)) continue;
      const restricted = matchingResources(gr, hardNames);
      if (gr.group === '' && gr.plural === 'pods') {
        const err = podConstraintError(restricted, obj);
        if (err) throw quotaForbidden(a.resource, name, `failed quota: ${rq.metadata!.name}: ${err}`);
      }
      if (!hasUsageStats(rq, restricted))
        throw quotaForbidden(a.resource, name, `status unknown for quota: ${rq.metadata!.name}, resources: ${restricted.join(',')}`);
      interesting.push(rq);
    }
    if (!interesting.length) return [];

    let delta = usageOf(gr, obj, now);
    // An update is charged by what it adds (a create-on-update is charged in full).
    if (a.operation === 'UPDATE' && a.old?.metadata?.resourceVersion) delta = subtractNonNegative(delta, usageOf(gr, a.old, now));
    for (const [k, v] of delta) if (v.milli === 0n) delta.delete(k);
    if (!delta.size) return [];

    const out: Array<{ rq: KObject; used: ResourceList }> = [];
    for (const rq of interesting) {
      if (charged.has(rq.metadata!.uid!)) continue;
      const hard = toResourceList(rq.status?.hard);
      const used = toResourceList(rq.status?.used);
      const requested = mask(delta, hard.keys());
      if (!requested.size || isZeroList(requested)) continue;
      const newUsage = addLists(used, requested);
      const exceeded: string[] = [];
      for (const k of requested.keys()) {
        if (newUsage.get(k)!.milli > hard.get(k)!.milli) exceeded.push(k);
      }
      if (exceeded.length) {
        throw quotaForbidden(
          a.resource,
          name,
          `exceeded quota: ${rq.metadata!.name}, requested: ${prettyPrint(mask(requested, exceeded))}, ` +
            `used: ${prettyPrint(mask(used, exceeded))}, limited: ${prettyPrint(mask(hard, exceeded))}`,
        );
      }
      out.push({ rq, used: newUsage });
    }
    return out;
  }
}
