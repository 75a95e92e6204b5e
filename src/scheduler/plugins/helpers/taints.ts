// Taint/toleration matching with upstream's rules (core/v1 Toleration.ToleratesTaint and the
// v1helper functions). Shared by the TaintToleration and NodeUnschedulable plugins, the DaemonSet
// controller and the taint-eviction controller.

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export const TAINT_EFFECT_NO_SCHEDULE = 'NoSchedule';
export const TAINT_EFFECT_PREFER_NO_SCHEDULE = 'PreferNoSchedule';
export const TAINT_EFFECT_NO_EXECUTE = 'NoExecute';
/** Effects that keep new pods off a node (upstream's DoNotScheduleTaintsFilterFunc). */
export const DO_NOT_SCHEDULE_EFFECTS: readonly string[] = [TAINT_EFFECT_NO_SCHEDULE, TAINT_EFFECT_NO_EXECUTE];

/**
 * True when the toleration tolerates the taint: an empty effect matches every effect, an empty key
 * matches every key (validation only allows that with operator Exists), operator Exists ignores the
 * value, operator Equal (or empty) needs the same value.
 */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** True when any of the tolerations tolerates the taint. */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}

/**
 * The first taint whose effect is in `effects` (all effects when undefined) that no toleration
 * tolerates; undefined when every such taint is tolerated.
 */
export function findUntoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
  effects?: readonly string[],
): Taint | undefined {
  if (!taints) return undefined;
  for (const taint of taints) {
    if (effects && !effects.includes(taint.effect)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/**
 * For the taint-eviction controller: whether every taint is tolerated and, if so, the tolerations
 * that matched (one per taint, the first match, as upstream's GetMatchingTolerations).
 */
export function getMatchingTolerations(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
): { tolerated: boolean; matching: Toleration[] } {
  const matching: Toleration[] = [];
  for (const taint of taints ?? []) {
    const t = tolerations?.find((tol) => tolerates(tol, taint));
    if (!t) return { tolerated: false, matching: [] };
    matching.push(t);
  }
  return { tolerated: true, matching };
}

/**
 * Shortest tolerationSeconds among matching tolerations, in seconds: -1 means "tolerate forever"
 * (none sets tolerationSeconds), 0 means "evict now", as upstream's getMinTolerationTime (which
 * also answers 0 for an empty list).
 */
export function minTolerationSeconds(matching: readonly Toleration[]): number {
  if (matching.length === 0) return 0;
  let min = -1;
  for (const t of matching) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    const s = Math.max(0, t.tolerationSeconds);
    if (min < 0 || s < min) min = s;
  }
  return min;
}
