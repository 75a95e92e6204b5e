// Service account tokens: the TokenRequest subresource issues signed JWTs (ES256 with the
// cluster's service-account key) bound to an audience, an expiry and optionally a pod, secret or
// node; the authenticator accepts them while the service account (and bound object) still
// exist with the same uid, as upstream's bound service account tokens work.
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { KObject } from '../api/types.js';
import type { UserInfo } from './context.js';
import { ApiError, badRequest } from './errors.js';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

/** Looks up current objects so tokens die with what they are bound to. */
export interface TokenLookups {
  serviceAccount(namespace: string, name: string): KObject | undefined;
  pod(namespace: string, name: string): KObject | undefined;
  secret(namespace: string, name: string): KObject | undefined;
  node(name: string): KObject | undefined;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class ServiceAccountTokens {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly keyId: string;

  constructor(
    privateKeyPem: string,
    private readonly lookups: TokenLookups,
    readonly issuer = DEFAULT_ISSUER,
    /** Audiences the API server accepts (upstream --api-audiences, default the issuer). */
    readonly apiAudiences: string[] = [DEFAULT_ISSUER],
  ) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.publicKey = createPublicKey(this.privateKey);
    // Upstream's key id: the SHA-256 of the DER public key, base64url.
    this.keyId = b64url(createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest());
  }

  /** POST serviceaccounts/<name>/token: answers the TokenRequest with status.token. */
  issue(sa: KObject, request: KObject, now = Date.now()): KObject {
    const spec = request.spec ?? {};
    const expiration = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (!Number.isInteger(expiration) || expiration < MIN_EXPIRATION_SECONDS || expiration > MAX_EXPIRATION_SECONDS)
      throw new ApiError(422, 'Invalid', `TokenRequest.authentication.k8s.io "${sa.metadata!.name}" is invalid: spec.expirationSeconds: Invalid value: ${expiration}: may not specify a duration less than 10 minutes`, {
        name: sa.metadata!.name,
        group: 'authentication.k8s.io',
        kind: 'TokenRequest',
        causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${expiration}: may not specify a duration less than 10 minutes`, field: 'spec.expirationSeconds' }],
      });
    const ns = sa.metadata!.namespace!;
    const audiences: string[] = spec.audiences?.length ? spec.audiences : this.apiAudiences;
    const iat = Math.floor(now / 1000);
    const claims: Claims = {
      iss: this.issuer,
      sub: `system:serviceaccount:${ns}:${sa.metadata!.name}`,
      aud: audiences,
      exp: iat + expiration,
      iat,
      nbf: iat,
      jti: randomUUID(),
      'kubernetes.io': { namespace: ns, serviceaccount: { name: sa.metadata!.name!, uid: sa.metadata!.uid! } },
    };
    const ref = spec.boundObjectRef;
    if (ref) {
      const kind = ref.kind as string;
      const target =
        kind === 'Pod' ? this.lookups.pod(ns, ref.name) : kind === 'Secret' ? this.lookups.secret(ns, ref.name) : kind === 'Node' ? this.lookups.node(ref.name) : undefined;
      if (!['Pod', 'Secret', 'Node'].includes(kind)) throw badRequest(`cannot bind token for object of kind ${kind}`);
      if (!target) throw new ApiError(404, 'NotFound', `${kind.toLowerCase()}s "${ref.name}" not found`, { name: ref.name, kind: `${kind.toLowerCase()}s` });
      if (ref.uid && ref.uid !== target.metadata!.uid)
        throw new ApiError(409, 'Conflict', `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      const bound = { name: target.metadata!.name!, uid: target.metadata!.uid! };
      if (kind === 'Pod') {
        claims['kubernetes.io'].pod = bound;
        const nodeName = target.spec?.nodeName;
        const node = nodeName ? this.lookups.node(nodeName) : undefined;
        if (node) claims['kubernetes.io'].node = { name: nodeName, uid: node.metadata!.uid! };
      } else if (kind === 'Secret') claims['kubernetes.io'].secret = bound;
      else claims['kubernetes.io'].node = bound;
    }
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: this.keyId }));
    const payload = b64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: sa.metadata!.name, namespace: ns },
      spec: { audiences, expirationSeconds: expiration, boundObjectRef: ref ?? null },
      status: { token: `${header}.${payload}.${b64url(signature)}`, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
  }

  /** The user a bearer token stands for, or undefined when it is not a valid, live token of ours. */
  authenticate(token: string, now = Date.now()): UserInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let claims: Claims;
    try {
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
      if (header.alg !== 'ES256') return undefined;
      const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
      if (!ok) return undefined;
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch {
      return undefined;
    }
    const t = Math.floor(now / 1000);
    if (claims.iss !== this.issuer || !(claims.exp > t) || claims.nbf > t + 60) return undefined;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.some((a) => this.apiAudiences.includes(a))) return undefined;
    const k = claims['kubernetes.io'];
    if (!k?.serviceaccount) return undefined;
    const sa = this.lookups.serviceAccount(k.namespace, k.serviceaccount.name);
    if (!sa || sa.metadata!.uid !== k.serviceaccount.uid) return undefined;
    if (k.pod) {
      const pod = this.lookups.pod(k.namespace, k.pod.name);
      if (!pod || pod.metadata!.uid !== k.pod.uid || pod.metadata!.deletionTimestamp) return undefined;
    }
    if (k.secret) {
      const secret = this.lookups.secret(k.namespace, k.secret.name);
      if (!secret || secret.metadata!.uid !== k.secret.uid) return undefined;
    }
    const extra: UserInfo = {
      name: claims.sub,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
    };
    return extra;
  }
}
