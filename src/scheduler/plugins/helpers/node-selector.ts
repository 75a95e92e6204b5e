// Node selector matching with upstream's semantics (component-helpers nodeaffinity): terms are
// ORed, a term's matchExpressions and matchFields are ANDed, an empty term matches nothing, and a
// term with an invalid requirement is skipped rather than failing the whole selector. Shared by the
// NodeAffinity and VolumeBinding plugins and the DaemonSet controller.
import type { Node, Pod } from '../../framework/types.js';

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface NodeSelector {
  nodeSelectorTerms?: NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  weight: number;
  preference?: NodeSelectorTerm;
}

/** A compiled predicate over nodes. */
export interface NodeMatcher {
  matches(node: Node): boolean;
}

export const MATCH_ALL: NodeMatcher = { matches: () => true };
const MATCH_NONE: NodeMatcher = { matches: () => false };

/** The only field a matchFields requirement may name. */
export const OBJECT_NAME_FIELD = 'metadata.name';

type Pred = (labels: Record<string, string>, name: string) => boolean;

/** Go's strconv.ParseInt(s, 10, 64) acceptance: optional sign and decimal digits. */
function parseInt64(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

/** A label requirement as a predicate, or undefined when the requirement is invalid. */
function labelRequirement(r: NodeSelectorRequirement): Pred | undefined {
  const key = r.key;
  const values = r.values ?? [];
  if (typeof key !== 'string' || key === '') return undefined;
  switch (r.operator) {
    case 'In': {
      if (values.length === 0) return undefined;
      const set = new Set(values);
      return (l) => Object.hasOwn(l, key) && set.has(l[key]);
    }
    case 'NotIn': {
      if (values.length === 0) return undefined;
      const set = new Set(values);
      return (l) => !Object.hasOwn(l, key) || !set.has(l[key]);
    }
    case 'Exists':
      if (values.length !== 0) return undefined;
      return (l) => Object.hasOwn(l, key);
    case 'DoesNotExist':
      if (values.length !== 0) return undefined;
      return (l) => !Object.hasOwn(l, key);
    case 'Gt':
    case 'Lt': {
      if (values.length !== 1) return undefined;
      const bound = parseInt64(values[0]);
      if (bound === undefined) return undefined;
      const gt = r.operator === 'Gt';
      return (l) => {
        if (!Object.hasOwn(l, key)) return false;
        const v = parseInt64(l[key]);
        if (v === undefined) return false;
        return gt ? v > bound : v < bound;
      };
    }
    default:
      return undefined;
  }
}

/** A field requirement: only metadata.name with In/NotIn and exactly one value is valid. */
function fieldRequirement(r: NodeSelectorRequirement): Pred | undefined {
  if (r.key !== OBJECT_NAME_FIELD) return undefined;
  const values = r.values ?? [];
  if (values.length !== 1) return undefined;
  const want = values[0];
  if (r.operator === 'In') return (_l, name) => name === want;
  if (r.operator === 'NotIn') return (_l, name) => name !== want;
  return undefined;
}

/** Compiles one term; undefined when empty (matches nothing) or invalid (skipped). */
function compileTerm(term: NodeSelectorTerm | undefined | null): Pred | undefined {
  if (!term) return undefined;
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return undefined;
  const preds: Pred[] = [];
  for (const r of exprs) {
    const p = labelRequirement(r);
    if (!p) return undefined;
    preds.push(p);
  }
  for (const r of fields) {
    const p = fieldRequirement(r);
    if (!p) return undefined;
    preds.push(p);
  }
  return (l, name) => {
    for (const p of preds) if (!p(l, name)) return false;
    return true;
  };
}

const NO_LABELS: Record<string, string> = {};

function run(pred: Pred, node: Node): boolean {
  return pred(node.metadata?.labels ?? NO_LABELS, node.metadata?.name ?? '');
}

/** Compiles a NodeSelector (terms ORed). A selector with no valid term matches nothing. */
export function compileNodeSelector(sel: NodeSelector | undefined | null): NodeMatcher {
  const terms = (sel?.nodeSelectorTerms ?? []).map(compileTerm).filter((p): p is Pred => !!p);
  if (terms.length === 0) return MATCH_NONE;
  return {
    matches(node) {
      for (const t of terms) if (run(t, node)) return true;
      return false;
    },
  };
}

/** True when the node matches one of the selector's terms. */
export function nodeSelectorMatches(sel: NodeSelector | undefined | null, node: Node): boolean {
  return compileNodeSelector(sel).matches(node);
}

/** True when the node matches the single term (empty or invalid terms match nothing). */
export function nodeSelectorTermMatches(term: NodeSelectorTerm | undefined | null, node: Node): boolean {
  const p = compileTerm(term);
  return p ? run(p, node) : false;
}

/** True when the labels contain every key/value of a map selector (pod.spec.nodeSelector). */
export function labelsMatchMap(labels: Record<string, string> | undefined, want: Record<string, string> | undefined): boolean {
  if (!want) return true;
  for (const [k, v] of Object.entries(want)) if (labels?.[k] !== v) return false;
  return true;
}

/**
 * The pod's required node constraints: spec.nodeSelector AND
 * affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution (upstream's
 * GetRequiredNodeAffinity). Compile once per pod and reuse across nodes.
 */
export function requiredNodeAffinity(pod: Pod): NodeMatcher {
  const selector: Record<string, string> | undefined = pod.spec?.nodeSelector;
  const required: NodeSelector | undefined = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const hasSelector = !!selector && Object.keys(selector).length > 0;
  if (!hasSelector && !required) return MATCH_ALL;
  const affinity = required ? compileNodeSelector(required) : MATCH_ALL;
  return {
    matches(node) {
      if (hasSelector && !labelsMatchMap(node.metadata?.labels, selector)) return false;
      return affinity.matches(node);
    },
  };
}

/** True when the node satisfies the pod's nodeSelector and required node affinity. */
export function podMatchesNodeSelectorAndAffinityTerms(pod: Pod, node: Node): boolean {
  return requiredNodeAffinity(pod).matches(node);
}

/** Compiled preferred terms: score(node) is the sum of the weights of the matching terms. */
export interface PreferredTermsScorer {
  score(node: Node): number;
}

export function compilePreferredSchedulingTerms(terms: PreferredSchedulingTerm[] | undefined | null): PreferredTermsScorer | undefined {
  const compiled: Array<{ weight: number; pred: Pred }> = [];
  for (const t of terms ?? []) {
    if (!t.weight) continue;
    const pred = compileTerm(t.preference);
    if (pred) compiled.push({ weight: t.weight, pred });
  }
  if (!terms?.length) return undefined;
  return {
    score(node) {
      let sum = 0;
      for (const c of compiled) if (run(c.pred, node)) sum += c.weight;
      return sum;
    },
  };
}

/**
 * StorageClass allowedTopologies / topology selector terms (v1helper.MatchTopologySelectorTerms):
 * no terms matches everything; terms are ORed; each term's label expressions (key In values) ANDed.
 */
export function matchTopologySelectorTerms(
  terms: Array<{ matchLabelExpressions?: Array<{ key: string; values?: string[] }> }> | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  if (!terms || terms.length === 0) return true;
  for (const term of terms) {
    const exprs = term.matchLabelExpressions ?? [];
    if (exprs.length === 0) continue;
    let ok = true;
    for (const e of exprs) {
      const v = labels?.[e.key];
      if (v === undefined || !(e.values ?? []).includes(v)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}
