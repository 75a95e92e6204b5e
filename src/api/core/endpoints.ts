// core/v1 Endpoints (written by the endpoints controller).
import { isIP } from 'node:net';
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { dns1123LabelErrors, duplicate, invalid, notSupported, portNumberErrors, required } from '../validation.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validateAddress(a: any, field: string, out: FieldError[]): void {
  const ip = String(a?.ip ?? '');
  if (!isIP(ip)) {
    out.push(invalid(`${field}.ip`, a?.ip ?? '', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    return;
  }
  if (ip.startsWith('127.') || ip === '::1')
    out.push(invalid(`${field}.ip`, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  else if (ip.startsWith('169.254.') || ip.toLowerCase().startsWith('fe80:'))
    out.push(invalid(`${field}.ip`, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  else if (ip.startsWith('224.0.0.') || ip.toLowerCase().startsWith('ff02:'))
    out.push(invalid(`${field}.ip`, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
}

function validateEndpoints(ep: KObject): FieldError[] {
  const out: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss: any, i: number) => {
    const f = `subsets[${i}]`;
    (ss?.addresses ?? []).forEach((a: any, j: number) => validateAddress(a, `${f}.addresses[${j}]`, out));
    (ss?.notReadyAddresses ?? []).forEach((a: any, j: number) => validateAddress(a, `${f}.notReadyAddresses[${j}]`, out));
    const ports: any[] = ss?.ports ?? [];
    const names = new Set<string>();
    ports.forEach((p: any, j: number) => {
      const pf = `${f}.ports[${j}]`;
      if (!p?.name) {
        if (ports.length > 1) out.push(required(`${pf}.name`));
      } else {
        for (const e of dns1123LabelErrors(p.name)) out.push(invalid(`${pf}.name`, p.name, e));
        if (names.has(p.name)) out.push(duplicate(`${pf}.name`, p.name));
        names.add(p.name);
      }
      for (const e of portNumberErrors(p?.port)) out.push(invalid(`${pf}.port`, p?.port ?? 0, e));
      if (!p?.protocol) out.push(required(`${pf}.protocol`));
      else if (!PROTOCOLS.includes(p.protocol)) out.push(notSupported(`${pf}.protocol`, p.protocol, PROTOCOLS));
    });
  });
  return out;
}

/** ENDPOINTS: up to three "ip:port" entries, then "+ N more...". */
export function formatEndpoints(ep: KObject): string {
  const subsets: any[] = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  let more = false;
  for (const ss of subsets) {
    const addrs: any[] = ss.addresses ?? [];
    const ports: any[] = ss.ports ?? [];
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) { more = true; break; }
        list.push(a.ip);
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) { more = true; break; }
        list.push(String(a.ip).includes(':') ? `[${a.ip}]:${p.port}` : `${a.ip}:${p.port}`);
      }
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

export const endpoints: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  listKind: 'EndpointsList',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  defaults(ep) {
    for (const ss of ep.subsets ?? []) for (const p of ss?.ports ?? []) if (p) p.protocol ||= 'TCP';
  },
  validate: validateEndpoints,
  columns: [
    { name: 'Endpoints', type: 'string', description: 'The set of all endpoints is the union of all subsets.', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  row: (ep) => [formatEndpoints(ep), age(ep.metadata?.creationTimestamp)],
};
