// Completion indexes of Indexed Jobs: the compressed interval form of status.completedIndexes
// ("1,3-5,7"), the index a pod carries, and which indexes still need a pod.
import type { KObject } from '../../api/types.js';
import { JOB_COMPLETION_INDEX_ANNOTATION, JOB_COMPLETION_INDEX_LABEL } from './util.js';

/** Sorted, non-overlapping, non-adjacent [first, last] intervals. */
export type Intervals = Array<[number, number]>;

/** Parses "1,3-5" keeping only indexes below completions (malformed parts are skipped). */
export function parseIndexes(s: string | undefined, completions: number): Intervals {
  const points: number[] = [];
  const ranges: Intervals = [];
  for (const part of (s ?? '').split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = Math.min(m[2] === undefined ? a : Number(m[2]), completions - 1);
    if (a > b) continue;
    if (a === b) points.push(a);
    else ranges.push([a, b]);
  }
  return addIndexes(normalize(ranges), points);
}

function normalize(iv: Intervals): Intervals {
  const sorted = [...iv].sort((x, y) => x[0] - y[0]);
  const out: Intervals = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** iv with the indexes added (a new list; iv is not modified). */
export function addIndexes(iv: Intervals, indexes: Iterable<number>): Intervals {
  const all: Intervals = iv.map(([a, b]) => [a, b]);
  for (const i of indexes) all.push([i, i]);
  return normalize(all);
}

export function formatIndexes(iv: Intervals): string {
  return iv.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
}

export function totalIndexes(iv: Intervals): number {
  let n = 0;
  for (const [a, b] of iv) n += b - a + 1;
  return n;
}

export function hasIndex(iv: Intervals, i: number): boolean {
  for (const [a, b] of iv) {
    if (i < a) return false;
    if (i <= b) return true;
  }
  return false;
}

/** The pod's completion index (annotation, else label), or -1 when absent or malformed. */
export function completionIndex(pod: KObject): number {
  const v = pod.metadata?.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION] ?? pod.metadata?.labels?.[JOB_COMPLETION_INDEX_LABEL];
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : -1;
}

/** The first count indexes below completions that are neither done nor held by a pod in busy. */
export function firstPendingIndexes(done: Intervals, busy: Set<number>, count: number, completions: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) {
    if (busy.has(i) || hasIndex(done, i)) continue;
    out.push(i);
  }
  return out;
}

/** generateName for an indexed pod: "<job>-<index>-", shortened to leave room for the random suffix. */
export function indexedGenerateName(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const max = 63 - 5;
  const prefix = jobName + suffix;
  return prefix.length > max ? jobName.slice(0, max - suffix.length) + suffix : prefix;
}
