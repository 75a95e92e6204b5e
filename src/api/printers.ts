// Shared helpers for Table rows: the formats kubectl users see upstream.

/** Upstream's duration.HumanDuration as used for AGE columns ("5s", "3m2s", "4h", "2d3h", "5y"). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '0s';
  if (s < 60 * 2) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) {
    const rs = s % 60;
    return rs === 0 ? `${m}m` : `${m}m${rs}s`;
  }
  if (m < 60 * 3) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) {
    const rm = m % 60;
    return rm === 0 ? `${h}h` : `${h}h${rm}m`;
  }
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) {
    const rh = h % 24;
    return rh === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${rh}h`;
  }
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) {
    const dy = Math.floor(h / 24) % 365;
    return dy === 0 ? `${Math.floor(h / 24 / 365)}y` : `${Math.floor(h / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(h / 24 / 365)}y`;
}

/** The AGE cell for a timestamp ("<unknown>" when missing), as upstream's translateTimestampSince. */
export function age(timestamp: string | undefined): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(Date.now() - Date.parse(timestamp));
}

/** Upstream's "<none>" for empty cells. */
export function orNone(v: string | undefined | null): string {
  return v == null || v === '' ? '<none>' : v;
}

/** Label selector as text, e.g. "app=web,tier in (a,b)". */
export function formatLabelSelector(sel: any): string {
  if (!sel) return '<none>';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const r of sel.matchExpressions ?? []) {
    switch (r.operator) {
      case 'In': parts.push(`${r.key} in (${(r.values ?? []).join(',')})`); break;
      case 'NotIn': parts.push(`${r.key} notin (${(r.values ?? []).join(',')})`); break;
      case 'Exists': parts.push(r.key); break;
      case 'DoesNotExist': parts.push(`!${r.key}`); break;
    }
  }
  return parts.length ? parts.join(',') : '<none>';
}

// --- groups ---
// Cell helpers for the non-core API groups' tables.

/** Upstream layoutContainerCells: comma-joined container names and images of a pod spec. */
export function containerCells(podSpec: any): [string, string] {
  const cs: any[] = podSpec?.containers ?? [];
  return [cs.map((c) => c?.name ?? '').join(','), cs.map((c) => c?.image ?? '').join(',')];
}

/** Upstream labels.FormatLabels: "k=v,..." sorted by key, "<none>" when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}

/** Upstream printBoolPtr: "True"/"False", "<unset>" when missing. */
export function formatBoolPtr(v: unknown): string {
  return v == null ? '<unset>' : v ? 'True' : 'False';
}

/** Upstream IntOrString.String(). */
export function formatIntOrString(v: unknown): string {
  return typeof v === 'number' ? String(v) : String(v ?? '');
}
