// Service account tokens for projected volumes (upstream's token manager): TokenRequest
// (POST serviceaccounts/<sa>/token) bound to the pod, cached per request and refreshed once
// 80% of the token's lifetime has passed (or it is older than 24 h).
import type { Client, KObject } from '../../client/index.js';

export interface TokenRequestSpec {
  namespace: string;
  serviceAccount: string;
  audiences: string[];
  expirationSeconds: number;
  boundPod: { name: string; uid: string };
}

interface Cached {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export class TokenManager {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly client: Client,
    private readonly now: () => number = Date.now,
  ) {}

  private key(s: TokenRequestSpec): string {
    return JSON.stringify([s.namespace, s.serviceAccount, s.audiences, s.expirationSeconds, s.boundPod.uid]);
  }

  /** True when a cached token should be replaced. */
  static needsRefresh(c: Cached, now: number): boolean {
    const ttl = c.expiresAt - c.issuedAt;
    return now >= c.issuedAt + ttl * 0.8 || now - c.issuedAt > 24 * 3600_000;
  }

  async token(s: TokenRequestSpec): Promise<string> {
    const key = this.key(s);
    const hit = this.cache.get(key);
    if (hit && !TokenManager.needsRefresh(hit, this.now())) return hit.token;
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: s.audiences,
        expirationSeconds: s.expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: s.boundPod.name, uid: s.boundPod.uid },
      },
    };
    const path = `${this.client.serviceAccounts.path(s.namespace, s.serviceAccount)}/token`;
    const res: KObject = await this.client.rest.request('POST', path, { body });
    const token: string | undefined = res.status?.token;
    if (!token) throw new Error(`TokenRequest for ${s.namespace}/${s.serviceAccount} returned no token`);
    const issuedAt = this.now();
    const exp = Date.parse(res.status?.expirationTimestamp ?? '');
    const expiresAt = Number.isFinite(exp) ? exp : issuedAt + s.expirationSeconds * 1000;
    this.cache.set(key, { token, issuedAt, expiresAt });
    return token;
  }

  /** Forgets the tokens of a pod that is gone. */
  forgetPod(uid: string): void {
    for (const k of this.cache.keys()) if (k.includes(`"${uid}"`)) this.cache.delete(k);
  }
}
