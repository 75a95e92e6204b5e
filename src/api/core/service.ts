// core/v1 Service. Cluster IP and node port allocation belong to the API server's service registry;
// this file defaults, validates and prints.
import { isIP } from 'node:net';
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  duplicate,
  forbidden,
  invalid,
  notSupported,
  portNameErrors,
  portNumberErrors,
  required,
  validateLabels,
} from '../validation.js';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];

/** True when the service type gets a cluster IP (everything but ExternalName). */
function usesClusterIP(svc: KObject): boolean {
  return svc.spec?.type !== 'ExternalName';
}

/** SetDefaults_Service plus the IP family defaults the registry applies on a single-stack cluster. */
function defaultService(svc: KObject): void {
  svc.spec ??= {};
  const spec = svc.spec;
  spec.type ||= 'ClusterIP';
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == null) {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds = 10800;
  }
  for (const p of spec.ports ?? []) {
    if (!p || typeof p !== 'object') continue;
    p.protocol ||= 'TCP';
    if (p.targetPort == null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && !spec.externalTrafficPolicy)
    spec.externalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (usesClusterIP(svc)) {
    spec.internalTrafficPolicy ||= 'Cluster';
    spec.ipFamilyPolicy ||= 'SingleStack';
    if (!spec.ipFamilies?.length) {
      const ip = spec.clusterIPs?.[0] ?? spec.clusterIP;
      spec.ipFamilies = [ip && isIP(ip) === 6 ? 'IPv6' : 'IPv4'];
    }
    if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
    else if (!spec.clusterIP && spec.clusterIPs?.length) spec.clusterIP = spec.clusterIPs[0];
  }
}

function validateServicePorts(spec: any, out: FieldError[]): void {
  const ports: any[] = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') out.push(required('spec.ports'));
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p: any, i: number) => {
    const f = `spec.ports[${i}]`;
    if (!p?.name) {
      if (ports.length > 1) out.push(required(`${f}.name`));
    } else {
      for (const e of dns1123LabelErrors(p.name)) out.push(invalid(`${f}.name`, p.name, e));
      if (names.has(p.name)) out.push(duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    for (const e of portNumberErrors(p?.port)) out.push(invalid(`${f}.port`, p?.port ?? 0, e));
    if (!p?.protocol) out.push(required(`${f}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) out.push(notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
    const tp = p?.targetPort;
    if (typeof tp === 'number') for (const e of portNumberErrors(tp)) out.push(invalid(`${f}.targetPort`, tp, e));
    else if (typeof tp === 'string') for (const e of portNameErrors(tp)) out.push(invalid(`${f}.targetPort`, tp, e));
    if (p?.nodePort != null && p.nodePort !== 0) {
      if (spec.type === 'ClusterIP' || spec.type === 'ExternalName')
        out.push(forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${spec.type}'`));
      else for (const e of portNumberErrors(p.nodePort)) out.push(invalid(`${f}.nodePort`, p.nodePort, e));
    }
    const key = `${p?.port}/${p?.protocol}`;
    if (seen.has(key)) out.push(duplicate(f, { port: p?.port, protocol: p?.protocol }));
    seen.add(key);
  });
}

function validateService(svc: KObject, old?: KObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = svc.spec ?? {};
  if (!spec.type) out.push(required('spec.type'));
  else if (!TYPES.includes(spec.type)) out.push(notSupported('spec.type', spec.type, TYPES));
  if (spec.sessionAffinity && !AFFINITIES.includes(spec.sessionAffinity))
    out.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, AFFINITIES));
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP' && timeout != null && (timeout <= 0 || timeout > 86400))
    out.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));

  if (spec.type === 'ExternalName') {
    if (!spec.externalName) out.push(required('spec.externalName'));
    else {
      const name = String(spec.externalName).replace(/\.$/, '');
      for (const e of dns1123SubdomainErrors(name)) out.push(invalid('spec.externalName', spec.externalName, e));
    }
    if (spec.clusterIP && spec.clusterIP !== '')
      out.push(forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
  } else {
    (spec.clusterIPs ?? []).forEach((ip: string, i: number) => {
      if (ip === 'None' && i === 0) return;
      if (!isIP(String(ip)))
        out.push(invalid(`spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    });
    if (spec.clusterIP && spec.clusterIPs?.length && spec.clusterIP !== spec.clusterIPs[0])
      out.push(invalid('spec.clusterIPs', spec.clusterIPs, 'first value must match `clusterIP`'));
  }
  validateServicePorts(spec, out);
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  (spec.externalIPs ?? []).forEach((ip: string, i: number) => {
    if (!isIP(String(ip)))
      out.push(invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  if (spec.externalTrafficPolicy) {
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer' && !(spec.externalIPs?.length > 0))
      out.push(invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
    else if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy))
      out.push(notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, TRAFFIC_POLICIES));
  }
  if (spec.internalTrafficPolicy && !TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy))
    out.push(notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  if (spec.ipFamilyPolicy && !IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy))
    out.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, IP_FAMILY_POLICIES));

  if (old) {
    // A cluster IP, once assigned, stays (prepareForUpdate carries it over when omitted).
    if (usesClusterIP(svc) && usesClusterIP(old) && old.spec?.clusterIP && spec.clusterIP !== old.spec.clusterIP)
      out.push(invalid('spec.clusterIP', spec.clusterIP ?? '', 'field is immutable'));
  }
  return out;
}

/** upstream patchAllocatedValues: values the server allocated survive an update that omits them. */
function carryAllocatedValues(svc: KObject, old: KObject): void {
  const spec = (svc.spec ??= {});
  const oldSpec = old.spec ?? {};
  if (usesClusterIP(svc) && usesClusterIP(old)) {
    if (!spec.clusterIP && oldSpec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
    if (!spec.clusterIPs?.length && oldSpec.clusterIPs?.length && spec.clusterIP === oldSpec.clusterIP)
      spec.clusterIPs = oldSpec.clusterIPs;
  }
  const needsNodePorts = (s: any) => s?.type === 'NodePort' || s?.type === 'LoadBalancer';
  if (needsNodePorts(spec) && needsNodePorts(oldSpec)) {
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const match = (oldSpec.ports ?? []).find((o: any) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (match?.nodePort) p.nodePort = match.nodePort;
    }
    if (spec.healthCheckNodePort == null && oldSpec.healthCheckNodePort != null)
      spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
  }
}

function loadBalancerIPs(svc: KObject, wide: boolean): string {
  const set = new Set<string>();
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (ing.ip) set.add(ing.ip);
    else if (ing.hostname) set.add(ing.hostname);
  }
  let r = [...set].sort().join(',');
  if (!wide && r.length > 16) r = r.slice(0, 13) + '...';
  return r;
}

/** EXTERNAL-IP as upstream's getServiceExternalIP (table rows are built once, so the wide form). */
export function serviceExternalIP(svc: KObject): string {
  const spec = svc.spec ?? {};
  const external: string[] = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIPs(svc, true);
      if (external.length) return [...(lb ? lb.split(',') : []), ...external].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
  }
  return '<unknown>';
}

/** PORT(S): "80/TCP", "80:30080/TCP" joined by commas. */
export function servicePorts(svc: KObject): string {
  const parts = (svc.spec?.ports ?? []).map((p: any) =>
    p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`,
  );
  return parts.length ? parts.join(',') : '<none>';
}

function formatSelector(sel: Record<string, string> | undefined): string {
  const keys = Object.keys(sel ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${sel![k]}`).join(',') : '<none>';
}

export const services: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  nameRule: 'dns1123-label',
  subresources: { status: true },
  defaults: defaultService,
  prepareForCreate(svc) {
    svc.status = { loadBalancer: {} };
  },
  prepareForUpdate(svc, old) {
    carryAllocatedValues(svc, old);
    svc.status = old.status;
  },
  validate: validateService,
  columns: [
    { name: 'Type', type: 'string', description: 'type determines how the Service is exposed.', priority: 0 },
    { name: 'Cluster-IP', type: 'string', description: 'clusterIP is the IP address of the service.', priority: 0 },
    { name: 'External-IP', type: 'string', description: 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.', priority: 0 },
    { name: 'Port(s)', type: 'string', description: 'The list of ports that are exposed by this service.', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
    { name: 'Selector', type: 'string', description: 'Route service traffic to pods with label keys and values matching this selector.', priority: 1 },
  ],
  row: (svc) => [
    svc.spec?.type ?? '',
    svc.spec?.clusterIPs?.[0] ?? (svc.spec?.clusterIP || '<none>'),
    serviceExternalIP(svc),
    servicePorts(svc),
    age(svc.metadata?.creationTimestamp),
    formatSelector(svc.spec?.selector),
  ],
  fieldSelectors: {
    'spec.clusterIP': (s) => s.spec?.clusterIP ?? '',
    'spec.type': (s) => s.spec?.type ?? '',
  },
};
