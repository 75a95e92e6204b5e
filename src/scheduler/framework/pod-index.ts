// Indexes over the pods of a snapshot, so that PreFilter of InterPodAffinity and PodTopologySpread
// does not have to match every pod in the cluster against a selector on every cycle (upstream
// walks all pods on 16 goroutines; a single JS thread cannot afford that at 20,000 pods):
//  - pods by label (key → value → pod → its node): a selector with an equality ("in")
//    requirement only needs the pods carrying one of those values;
//  - existing pods' required anti-affinity terms by one equality requirement of their selector:
//    an incoming pod can only match terms whose requirement its own labels satisfy.
// Candidates from an index are still checked against the full selector and namespace, so the
// results are the same as a full walk. The snapshot keeps the index in step as nodes are
// re-cloned (remove the old NodeInfo's pods, add the new one's).
import type { AffinityTerm, NodeInfo, PodInfo } from './types.js';

type Labels = Record<string, string>;

/** An existing pod's required anti-affinity term, with the node the pod is on. */
export interface TermRef {
  pi: PodInfo;
  term: AffinityTerm;
  node: NodeInfo;
}

interface Requirement {
  key: string;
  op: string;
  values?: string[];
}

/** The selector's requirements, when it exposes them (compiled label selectors do). */
export function selectorRequirements(selector: unknown): Requirement[] | undefined {
  const reqs = (selector as { requirements?: unknown }).requirements;
  return Array.isArray(reqs) ? (reqs as Requirement[]) : undefined;
}

/** The first equality requirement ("in" with values) of a selector; undefined when it has none. */
function indexRequirement(selector: unknown): Requirement | undefined {
  const reqs = selectorRequirements(selector);
  if (!reqs) return undefined;
  for (const r of reqs) if (r.op === 'in' && Array.isArray(r.values)) return r;
  return undefined;
}

function getOrCreate<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
}

/** Terms of an existing pod that InterPodAffinity's Score looks at (required anti-affinity is not one). */
function hasScoringTerms(pi: PodInfo): boolean {
  return !!(pi.requiredAffinityTerms || pi.preferredAffinityTerms || pi.preferredAntiAffinityTerms);
}

export class PodIndex {
  private readonly byLabel = new Map<string, Map<string, Map<PodInfo, NodeInfo>>>();
  private readonly antiByLabel = new Map<string, Map<string, Set<TermRef>>>();
  /** Terms whose selector has no equality requirement: always candidates. */
  private readonly antiUnindexed = new Set<TermRef>();
  private readonly antiRefs = new Map<PodInfo, TermRef[]>();
  /** Pods whose own terms can add to another pod's InterPodAffinity score, with their nodes. */
  private readonly scoring = new Map<PodInfo, NodeInfo>();

  clear(): void {
    this.byLabel.clear();
    this.antiByLabel.clear();
    this.antiUnindexed.clear();
    this.antiRefs.clear();
    this.scoring.clear();
  }

  addNode(ni: NodeInfo): void {
    for (const pi of ni.pods) {
      const labels: Labels | undefined = pi.pod.metadata?.labels;
      if (labels) for (const k in labels) getOrCreate(getOrCreate(this.byLabel, k, () => new Map()), labels[k], () => new Map()).set(pi, ni);
    }
    for (const pi of ni.podsWithAffinity) if (hasScoringTerms(pi)) this.scoring.set(pi, ni);
    for (const pi of ni.podsWithRequiredAntiAffinity) {
      const refs: TermRef[] = [];
      for (const term of pi.requiredAntiAffinityTerms ?? []) {
        const ref: TermRef = { pi, term, node: ni };
        refs.push(ref);
        const req = indexRequirement(term.selector);
        if (!req) {
          this.antiUnindexed.add(ref);
          continue;
        }
        const byValue = getOrCreate(this.antiByLabel, req.key, () => new Map());
        for (const v of req.values!) getOrCreate(byValue, v, () => new Set()).add(ref);
      }
      this.antiRefs.set(pi, refs);
    }
  }

  removeNode(ni: NodeInfo): void {
    for (const pi of ni.pods) {
      const labels: Labels | undefined = pi.pod.metadata?.labels;
      if (!labels) continue;
      for (const k in labels) {
        const byValue = this.byLabel.get(k);
        const pods = byValue?.get(labels[k]);
        if (!pods || pods.get(pi) !== ni) continue;
        pods.delete(pi);
        if (pods.size === 0) byValue!.delete(labels[k]);
        if (byValue!.size === 0) this.byLabel.delete(k);
      }
    }
    for (const pi of ni.podsWithAffinity) if (this.scoring.get(pi) === ni) this.scoring.delete(pi);
    for (const pi of ni.podsWithRequiredAntiAffinity) {
      const refs = this.antiRefs.get(pi);
      if (!refs || refs[0]?.node !== ni) continue;
      this.antiRefs.delete(pi);
      for (const ref of refs) {
        const req = indexRequirement(ref.term.selector);
        if (!req) {
          this.antiUnindexed.delete(ref);
          continue;
        }
        const byValue = this.antiByLabel.get(req.key);
        for (const v of req.values!) {
          const set = byValue?.get(v);
          set?.delete(ref);
          if (set && set.size === 0) byValue!.delete(v);
        }
        if (byValue && byValue.size === 0) this.antiByLabel.delete(req.key);
      }
    }
  }

  /**
   * Pods that may match selector, with their nodes: those carrying one of the values of its most
   * selective equality requirement. undefined when the selector has no equality requirement
   * (the caller walks all pods). Callers still check the full selector.
   */
  candidates(selector: unknown): Array<Map<PodInfo, NodeInfo>> | undefined {
    const reqs = selectorRequirements(selector);
    if (!reqs) return undefined;
    let best: Array<Map<PodInfo, NodeInfo>> | undefined;
    let bestSize = Infinity;
    for (const r of reqs) {
      if (r.op !== 'in' || !Array.isArray(r.values)) continue;
      const byValue = this.byLabel.get(r.key);
      const maps: Array<Map<PodInfo, NodeInfo>> = [];
      let size = 0;
      for (const v of r.values.length > 1 ? new Set(r.values) : r.values) {
        const m = byValue?.get(v);
        if (m) {
          maps.push(m);
          size += m.size;
        }
      }
      if (size < bestSize) {
        best = maps;
        bestSize = size;
      }
    }
    return best;
  }

  /** Pods with required affinity or preferred (anti-)affinity terms, and their nodes. */
  podsWithScoringTerms(): ReadonlyMap<PodInfo, NodeInfo> {
    return this.scoring;
  }

  /** Existing required anti-affinity terms an incoming pod with these labels may match. */
  antiAffinityCandidates(labels: Labels | undefined, visit: (ref: TermRef) => void): void {
    for (const ref of this.antiUnindexed) visit(ref);
    if (!labels || this.antiByLabel.size === 0) return;
    for (const k in labels) {
      const set = this.antiByLabel.get(k)?.get(labels[k]);
      if (set) for (const ref of set) visit(ref);
    }
  }
}
