// Helpers for writing status the way Go serializes it: omitempty integer fields are left out
// when zero, so kubectl and clients see the same shapes as from upstream controllers.
import type { KObject } from '../../api/types.js';
import { isConflict, type ResourceClient } from '../../client/index.js';

/** Drops the listed keys whose value is 0, undefined or null (in place); returns obj. */
export function omitZero<T extends Record<string, any>>(obj: T, keys: readonly string[]): T {
  for (const k of keys) if (obj[k] === 0 || obj[k] === undefined || obj[k] === null) delete obj[k];
  return obj;
}

/**
 * PUTs status on a copy of obj; on a conflict re-reads the object once and retries with the
 * same status (upstream's status update retry).
 */
export async function writeStatus(client: ResourceClient, obj: KObject, status: any): Promise<KObject> {
  const ns = obj.metadata?.namespace;
  try {
    return await client.updateStatus(ns, { ...obj, status });
  } catch (e) {
    if (!isConflict(e)) throw e;
    const fresh = await client.get(ns, obj.metadata!.name!);
    if (fresh.metadata?.uid !== obj.metadata?.uid) throw e;
    return client.updateStatus(ns, { ...fresh, status });
  }
}

/** Same value, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameJson(v, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as any)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as any)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => sameJson((a as any)[k], (b as any)[k]));
}
