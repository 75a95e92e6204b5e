// core/v1 Secret. Data values travel base64-encoded in JSON; stringData is merged into data on write.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { configMapKeyErrors, invalid, required, tooLong } from '../validation.js';
import { MAX_DATA_SIZE, validateImmutableData } from './configmap.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decoded byte length of a base64 string, or -1 when it is not valid base64. */
function base64Length(v: unknown): number {
  if (typeof v !== 'string') return -1;
  const s = v.replace(/\s+/g, '');
  if (!BASE64.test(s) || s.length % 4 === 1) return -1;
  return Buffer.from(s, 'base64').length;
}

/** Keys each well-known secret type must carry in data. */
const REQUIRED_KEYS: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

function validateSecret(secret: KObject, old?: KObject): FieldError[] {
  const out: FieldError[] = [];
  const data: Record<string, unknown> = secret.data ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const e of configMapKeyErrors(k)) out.push(invalid(`data[${k}]`, k, e));
    const n = base64Length(v);
    if (n < 0) out.push(invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
    else size += n;
  }
  if (size > MAX_DATA_SIZE) out.push(tooLong('data', MAX_DATA_SIZE));

  const type: string = secret.type ?? 'Opaque';
  for (const key of REQUIRED_KEYS[type] ?? []) if (!(key in data)) out.push(required(`data[${key}]`));
  if (type === 'kubernetes.io/service-account-token' && !secret.metadata?.annotations?.['kubernetes.io/service-account.name'])
    out.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
  if (type === 'kubernetes.io/basic-auth' && !('username' in data) && !('password' in data)) {
    out.push(required('data[username]'));
    out.push(required('data[password]'));
  }
  if (type === 'kubernetes.io/dockerconfigjson' || type === 'kubernetes.io/dockercfg') {
    const key = type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
    if (typeof data[key] === 'string' && base64Length(data[key]) >= 0) {
      try {
        JSON.parse(Buffer.from(data[key] as string, 'base64').toString('utf8'));
      } catch (e) {
        out.push(invalid(`data[${key}]`, '<secret contents redacted>', (e as Error).message));
      }
    }
  }
  if (old) {
    if ((old.type ?? 'Opaque') !== type) out.push(invalid('type', type, 'field is immutable'));
    out.push(...validateImmutableData(secret, old, ['data']));
  }
  return out;
}

export const secrets: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  defaults(secret) {
    secret.type ||= 'Opaque';
    // stringData is write-only: it overwrites data keys and is never stored.
    if (secret.stringData && typeof secret.stringData === 'object') {
      secret.data ??= {};
      for (const [k, v] of Object.entries(secret.stringData))
        secret.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete secret.stringData;
    }
  },
  validate: validateSecret,
  columns: [
    { name: 'Type', type: 'string', description: 'Used to facilitate programmatic handling of secret data.', priority: 0 },
    { name: 'Data', type: 'string', description: 'Data contains the secret data.', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  row: (s) => [s.type ?? '', Object.keys(s.data ?? {}).length, age(s.metadata?.creationTimestamp)],
  fieldSelectors: {
    type: (s) => s.type ?? '',
  },
};
