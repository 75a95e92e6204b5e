// discovery.k8s.io/v1 EndpointSlice.
import { isIPv4, isIPv6 } from 'node:net';
import type { FieldError, KObject, ResourceDef } from '../types.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  duplicate,
  invalid,
  notSupported,
  qualifiedNameErrors,
  required,
  semanticEqual,
  validateImmutable,
} from '../validation.js';
import { age } from '../printers.js';
import { AGE_COLUMN } from '../apps/common.js';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 100;

export function defaultEndpointSlice(obj: KObject): void {
  for (const p of obj.ports ?? []) {
    if (p == null) continue;
    p.name ??= '';
    p.protocol ??= 'TCP';
  }
}

function tooMany(field: string, actual: number, max: number): FieldError {
  return { type: 'FieldValueTooMany', field, badValue: actual, detail: `must have at most ${max} items` };
}

function addressErrors(addr: string, type: string): string[] {
  switch (type) {
    case 'IPv4': return isIPv4(addr) ? [] : ['must be a valid IPv4 address'];
    case 'IPv6': return isIPv6(addr) ? [] : ['must be a valid IPv6 address'];
    case 'FQDN': return dns1123SubdomainErrors(addr);
    default: return [];
  }
}

export function validateEndpointSlice(obj: KObject, old?: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const type = obj.addressType;
  if (!type) errs.push(required('addressType', ''));
  else if (!ADDRESS_TYPES.includes(type)) errs.push(notSupported('addressType', type, ADDRESS_TYPES));

  const endpoints: any[] = obj.endpoints ?? [];
  if (endpoints.length > MAX_ENDPOINTS) errs.push(tooMany('endpoints', endpoints.length, MAX_ENDPOINTS));
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addrs: any[] = ep?.addresses ?? [];
    if (addrs.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addrs.length > MAX_ADDRESSES) errs.push(tooMany(`${p}.addresses`, addrs.length, MAX_ADDRESSES));
    addrs.forEach((a, j) => {
      for (const m of addressErrors(String(a), type)) errs.push(invalid(`${p}.addresses[${j}]`, a, m));
    });
    if (ep?.nodeName != null) for (const m of dns1123SubdomainErrors(ep.nodeName)) errs.push(invalid(`${p}.nodeName`, ep.nodeName, m));
    if (ep?.hostname != null) for (const m of dns1123LabelErrors(ep.hostname)) errs.push(invalid(`${p}.hostname`, ep.hostname, m));
  });

  const ports: any[] = obj.ports ?? [];
  if (ports.length > MAX_PORTS) errs.push(tooMany('ports', ports.length, MAX_PORTS));
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = port?.name ?? '';
    if (name.length > 0) for (const m of dns1123LabelErrors(name)) errs.push(invalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    else names.add(name);
    if (port?.protocol == null) errs.push(required(`${p}.protocol`, ''));
    else if (!PROTOCOLS.includes(port.protocol)) errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port?.port != null) {
      const n = port.port;
      if (!(Number.isInteger(n) && n >= 1 && n <= 65535)) errs.push(invalid(`${p}.port`, n, 'must be between 1 and 65535, inclusive'));
    }
    if (port?.appProtocol != null)
      for (const m of qualifiedNameErrors(port.appProtocol)) errs.push(invalid(`${p}.appProtocol`, port.appProtocol, m));
  });
  if (old) errs.push(...validateImmutable(obj.addressType, old.addressType, 'addressType'));
  return errs;
}

/** Upstream formatDiscoveryPorts / formatDiscoveryEndpoints: first 3 items, then "+ N more...". */
function listWithMore(items: string[]): string {
  const max = 3;
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  return items.length ? items.join(',') : '<unset>';
}

function withoutMeta(obj: KObject): KObject {
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

export const endpointslices: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  defaults: defaultEndpointSlice,
  validate: validateEndpointSlice,
  prepareForCreate(obj) {
    obj.metadata ??= {};
    obj.metadata.generation = 1;
  },
  // Any change besides metadata (labels included) moves the generation.
  prepareForUpdate(obj, old) {
    obj.metadata ??= {};
    const gen = old.metadata?.generation ?? 1;
    const changed = !semanticEqual(withoutMeta(obj), withoutMeta(old)) || !semanticEqual(obj.metadata.labels, old.metadata?.labels);
    obj.metadata.generation = changed ? gen + 1 : gen;
  },
  columns: [
    { name: 'AddressType', type: 'string', description: 'addressType specifies the type of address carried by this EndpointSlice.', priority: 0 },
    { name: 'Ports', type: 'string', description: 'ports specifies the list of network ports exposed by each endpoint in this slice.', priority: 0 },
    { name: 'Endpoints', type: 'string', description: 'endpoints is a list of unique endpoints in this slice.', priority: 0 },
    AGE_COLUMN,
  ],
  row(obj) {
    const ports = (obj.ports ?? []).map((p: any) => (p?.port != null ? String(p.port) : p?.name != null ? p.name : '*'));
    const addrs = (obj.endpoints ?? []).flatMap((e: any) => (e?.addresses ?? []).map(String));
    return [obj.addressType ?? '', listWithMore(ports), listWithMore(addrs), age(obj.metadata?.creationTimestamp)];
  },
};
