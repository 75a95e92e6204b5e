// Builders for the Service and EndpointSlice objects the proxy tests feed in directly.
import type { KObject } from '../../src/api/types.js';

export interface SvcOpts {
  ns?: string;
  type?: string;
  clusterIP?: string;
  ports?: Array<{ name?: string; port: number; protocol?: string; nodePort?: number; targetPort?: number }>;
  externalTrafficPolicy?: 'Local' | 'Cluster';
  internalTrafficPolicy?: 'Local' | 'Cluster';
  sessionAffinity?: 'ClientIP' | 'None';
  affinityTimeout?: number;
  externalIPs?: string[];
  lbIngress?: string[];
  sourceRanges?: string[];
}

export function service(name: string, o: SvcOpts = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.ns ?? 'default', resourceVersion: '1' },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: o.clusterIP ?? '10.96.0.10',
      ports: (o.ports ?? [{ name: 'http', port: 80 }]).map((p) => ({ protocol: 'TCP', targetPort: 8080, ...p })),
      ...(o.externalTrafficPolicy ? { externalTrafficPolicy: o.externalTrafficPolicy } : {}),
      ...(o.internalTrafficPolicy ? { internalTrafficPolicy: o.internalTrafficPolicy } : {}),
      ...(o.sessionAffinity ? { sessionAffinity: o.sessionAffinity } : {}),
      ...(o.affinityTimeout ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: o.affinityTimeout } } } : {}),
      ...(o.externalIPs ? { externalIPs: o.externalIPs } : {}),
      ...(o.sourceRanges ? { loadBalancerSourceRanges: o.sourceRanges } : {}),
    },
    status: o.lbIngress ? { loadBalancer: { ingress: o.lbIngress.map((ip) => ({ ip })) } } : {},
  } as KObject;
}

export interface Ep {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
  hints?: string[];
}

export function slice(svc: string, eps: Ep[], o: { ns?: string; name?: string; ports?: Array<{ name?: string; port: number; protocol?: string }> } = {}): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: o.name ?? `${svc}-abc`, namespace: o.ns ?? 'default', labels: { 'kubernetes.io/service-name': svc }, resourceVersion: '1' },
    addressType: 'IPv4',
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.hints ? { hints: { forZones: e.hints.map((name) => ({ name })) } } : {}),
    })),
    ports: (o.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({ protocol: 'TCP', ...p })),
  } as KObject;
}
