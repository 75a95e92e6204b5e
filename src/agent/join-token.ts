// Join tokens in k3s's "secure" format, shared by the server (which mints them) and the agent
// (which presents them):
//   K10<sha256 of the server CA bundle, hex>::<user>:<secret>
// The hash lets an agent pin the cluster CA before it trusts anything the server sends; the
// secret is what the join endpoint checks. A bare secret (no "K10" prefix) is accepted too, as
// k3s does, but then the CA cannot be pinned.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'K10';

export interface JoinToken {
  /** Lower-case hex sha256 of the server CA PEM, when the token carries one. */
  caHash?: string;
  /** "server" for server tokens; undefined for bare secrets. */
  user?: string;
  secret: string;
}

/** sha256 (hex) of the CA bundle exactly as GET /skiff/v1/cacerts serves it. */
export function caHash(caPem: string | Buffer): string {
  return createHash('sha256').update(caPem).digest('hex');
}

/** A new random secret: 32 hex characters (128 bits), safe in URLs, headers and shells. */
export function randomSecret(): string {
  return randomBytes(16).toString('hex');
}

export function formatJoinToken(caPem: string, secret: string, user = 'server'): string {
  return `${PREFIX}${caHash(caPem)}::${user}:${secret}`;
}

/** Parses a token; throws a one-line error on a malformed K10 token or an empty secret. */
export function parseJoinToken(token: string): JoinToken {
  const t = token.trim();
  if (!t.startsWith(PREFIX)) {
    if (t === '' || /\s/.test(t)) throw new Error('invalid join token: empty or contains whitespace');
    return { secret: t };
  }
  const sep = t.indexOf('::');
  if (sep < 0) throw new Error('invalid join token: expected K10<ca-hash>::<user>:<secret>');
  const hash = t.slice(PREFIX.length, sep).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error('invalid join token: the CA hash is not a sha256 hex digest');
  const cred = t.slice(sep + 2);
  const colon = cred.indexOf(':');
  const user = colon >= 0 ? cred.slice(0, colon) : undefined;
  const secret = colon >= 0 ? cred.slice(colon + 1) : cred;
  if (secret === '' || /\s/.test(secret)) throw new Error('invalid join token: empty or malformed secret');
  return { caHash: hash, user, secret };
}

/** Constant-time comparison of two secrets (hashing first makes the lengths equal). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
