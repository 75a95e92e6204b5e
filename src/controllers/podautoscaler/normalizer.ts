// From a metric recommendation to the replica count actually applied (upstream
// horizontal.go normalizeDesiredReplicas*): stabilization over recent recommendations (scale
// down only to the highest of the last window, 300 s by default), rate limits (without
// behavior: at most max(2×current, 4); with behavior: the scaleUp/scaleDown policies over
// their periods) and min/max clamping — each step reported as the AbleToScale / ScalingLimited
// condition reasons upstream uses.
import { defaultScaleDownRules, defaultScaleUpRules } from '../../api/autoscaling/horizontalpodautoscaler.js';

export const DEFAULT_DOWNSCALE_STABILIZATION_MS = 300_000;

interface Recommendation {
  replicas: number;
  at: number;
}
interface ScaleEvent {
  change: number;
  at: number;
}

/** Per-HPA memory of recent recommendations and applied scale changes. */
export class ScaleHistory {
  recommendations: Recommendation[] = [];
  scaleUpEvents: ScaleEvent[] = [];
  scaleDownEvents: ScaleEvent[] = [];
}

export interface ConditionUpdate {
  type: 'AbleToScale' | 'ScalingLimited';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface Normalized {
  replicas: number;
  conditions: ConditionUpdate[];
}

export interface NormalizeArgs {
  current: number;
  /** The metrics' recommendation before stabilization. */
  desired: number;
  minReplicas: number;
  maxReplicas: number;
  /** spec.behavior (undefined: upstream's behavior-less algorithm). */
  behavior?: any;
  now: number;
  downscaleStabilizationMs?: number;
}

function record(h: ScaleHistory, replicas: number, now: number, oldestUseful: number): void {
  const i = h.recommendations.findIndex((r) => r.at < oldestUseful);
  if (i >= 0) h.recommendations[i] = { replicas, at: now };
  else h.recommendations.push({ replicas, at: now });
}

/** Without behavior: the highest recommendation of the stabilization window, then max(2×current, 4) and min/max. */
function normalizePlain(h: ScaleHistory, a: NormalizeArgs): Normalized {
  const window = a.downscaleStabilizationMs ?? DEFAULT_DOWNSCALE_STABILIZATION_MS;
  const cutoff = a.now - window;
  let stabilized = a.desired;
  for (const r of h.recommendations) if (r.at >= cutoff && r.replicas > stabilized) stabilized = r.replicas;
  record(h, a.desired, a.now, cutoff);
  const conditions: ConditionUpdate[] = [
    stabilized !== a.desired
      ? { type: 'AbleToScale', status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' }
      : { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' },
  ];
  const scaleUpLimit = Math.max(2 * a.current, 4);
  let max = a.maxReplicas;
  let reason = 'TooManyReplicas';
  let message = 'the desired replica count is more than the maximum replica count';
  if (a.maxReplicas > scaleUpLimit) {
    max = scaleUpLimit;
    reason = 'ScaleUpLimit';
    message = 'the desired replica count is increasing faster than the maximum scale rate';
  }
  let replicas = stabilized;
  if (stabilized < a.minReplicas) {
    replicas = a.minReplicas;
    reason = 'TooFewReplicas';
    message = 'the desired replica count is less than the minimum replica count';
  } else if (stabilized > max) replicas = max;
  else {
    reason = 'DesiredWithinRange';
    message = 'the desired count is within the acceptable range';
  }
  conditions.push({ type: 'ScalingLimited', status: replicas === stabilized ? 'False' : 'True', reason, message });
  return { replicas, conditions };
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  let n = 0;
  for (const e of events) if (e.at > cutoff) n += e.change;
  return n;
}

export function scaleUpLimit(current: number, h: ScaleHistory, rules: any, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(h.scaleUpEvents, p.periodSeconds, now) + changeInPeriod(h.scaleDownEvents, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

export function scaleDownLimit(current: number, h: ScaleHistory, rules: any, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(h.scaleUpEvents, p.periodSeconds, now) + changeInPeriod(h.scaleDownEvents, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** With behavior: windows per direction, then the policies' rate limits. */
function normalizeWithBehavior(h: ScaleHistory, a: NormalizeArgs): Normalized {
  const up = defaultScaleUpRules(a.behavior.scaleUp);
  const down = defaultScaleDownRules(a.behavior.scaleDown);
  const downWindowMs = down.stabilizationWindowSeconds != null ? down.stabilizationWindowSeconds * 1000 : (a.downscaleStabilizationMs ?? DEFAULT_DOWNSCALE_STABILIZATION_MS);
  const upCutoff = a.now - up.stabilizationWindowSeconds * 1000;
  const downCutoff = a.now - downWindowMs;
  let upRec = a.desired;
  let downRec = a.desired;
  for (const r of h.recommendations) {
    if (r.at > upCutoff) upRec = Math.min(upRec, r.replicas);
    if (r.at > downCutoff) downRec = Math.max(downRec, r.replicas);
  }
  let stabilized = Math.min(Math.max(a.current, upRec), downRec);
  record(h, a.desired, a.now, Math.min(upCutoff, downCutoff));
  const conditions: ConditionUpdate[] = [];
  if (stabilized !== a.desired) {
    conditions.push(
      a.desired >= a.current
        ? { type: 'AbleToScale', status: 'True', reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' }
        : { type: 'AbleToScale', status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' },
    );
  } else conditions.push({ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' });

  let replicas = stabilized;
  let reason = 'DesiredWithinRange';
  let message = 'the desired count is within the acceptable range';
  if (stabilized > a.current) {
    const limit = Math.max(scaleUpLimit(a.current, h, up, a.now), a.current);
    let max = a.maxReplicas;
    let r = 'TooManyReplicas';
    let m = 'the desired replica count is more than the maximum replica count';
    if (max > limit) {
      max = limit;
      r = 'ScaleUpLimit';
      m = 'the desired replica count is increasing faster than the maximum scale rate';
    }
    if (stabilized > max) [replicas, reason, message] = [max, r, m];
  } else if (stabilized < a.current) {
    const limit = Math.min(scaleDownLimit(a.current, h, down, a.now), a.current);
    let min = a.minReplicas;
    let r = 'TooFewReplicas';
    let m = 'the desired replica count is less than the minimum replica count';
    if (min < limit) {
      min = limit;
      r = 'ScaleDownLimit';
      m = 'the desired replica count is decreasing faster than the maximum scale rate';
    }
    if (stabilized < min) [replicas, reason, message] = [min, r, m];
  }
  conditions.push({ type: 'ScalingLimited', status: replicas === stabilized ? 'False' : 'True', reason, message });
  stabilized = replicas;
  return { replicas: stabilized, conditions };
}

export function normalizeDesiredReplicas(h: ScaleHistory, a: NormalizeArgs): Normalized {
  return a.behavior ? normalizeWithBehavior(h, a) : normalizePlain(h, a);
}

/** Remembers an applied scale change for the behavior policies (only HPAs with behavior keep them). */
export function recordScaleEvent(h: ScaleHistory, behavior: any, prev: number, next: number, now: number): void {
  if (!behavior || prev === next) return;
  const up = defaultScaleUpRules(behavior.scaleUp);
  const down = defaultScaleDownRules(behavior.scaleDown);
  const longest = Math.max(...[...up.policies, ...down.policies].map((p: any) => p.periodSeconds)) * 1000;
  const keep = (evs: ScaleEvent[]) => evs.filter((e) => e.at > now - longest);
  if (next > prev) h.scaleUpEvents = [...keep(h.scaleUpEvents), { change: next - prev, at: now }];
  else h.scaleDownEvents = [...keep(h.scaleDownEvents), { change: prev - next, at: now }];
}
