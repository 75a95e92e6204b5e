// pod-template-hash: a stable hash of a pod template (plus the owner's collision count),
// rendered like upstream: the decimal 32-bit hash mapped through rand.SafeEncodeString's
// alphabet, so the value never forms words and is a valid label value and name suffix.

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a 32 over the canonical JSON of template, then the collision count (4 bytes, little endian). */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  let h = 0x811c9dc5;
  const text = canonicalJson(template);
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) h = fnvStep(h, bytes[i]);
  if (collisionCount != null) {
    const c = collisionCount >>> 0;
    for (let i = 0; i < 4; i++) h = fnvStep(h, (c >>> (8 * i)) & 0xff);
  }
  return safeEncode(String(h >>> 0));
}

function fnvStep(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193) >>> 0;
}

/** Upstream rand.SafeEncodeString: each byte picks a character of a vowel-free alphabet. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted at every level, and absent/null fields dropped. */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined || o[k] === null) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  }
  return `{${parts.join(',')}}`;
}
