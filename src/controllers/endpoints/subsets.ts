// Builds the core/v1 Endpoints subsets of a Service from its pods (upstream endpoints controller
// syncService + RepackSubsets): one address per pod, grouped into subsets by the exact set of
// ports the pod serves, ready addresses apart from notReadyAddresses; capped at 1000 addresses.
import type { KObject } from '../../api/types.js';
import { findPort, isHeadless, isPodReady, podHostname, podRef, shouldPodBeInEndpoints } from './util.js';

/** Most addresses an Endpoints object holds before it is truncated (upstream maxCapacity). */
export const MAX_ENDPOINTS_CAPACITY = 1000;
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';

interface Group {
  ports: any[];
  addresses: any[];
  notReadyAddresses: any[];
}

function endpointAddress(pod: KObject, svc: KObject): any {
  const a: any = { ip: pod.status!.podIP };
  const hostname = podHostname(pod, svc);
  if (hostname) a.hostname = hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = podRef(pod);
  return a;
}

function compareAddresses(a: any, b: any): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const au = a.targetRef?.uid ?? '';
  const bu = b.targetRef?.uid ?? '';
  return au < bu ? -1 : au > bu ? 1 : 0;
}

/** The subsets for svc given the pods in its namespace that its selector selects. */
export function computeSubsets(svc: KObject, pods: KObject[]): any[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const svcPorts: any[] = svc.spec?.ports ?? [];
  const groups = new Map<string, Group>();
  const add = (portList: any[], addr: any, ready: boolean) => {
    const key = JSON.stringify(portList);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: portList, addresses: [], notReadyAddresses: [] }));
    (ready ? g.addresses : g.notReadyAddresses).push(addr);
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = endpointAddress(pod, svc);
    const ready = publishNotReady || isPodReady(pod);
    if (svcPorts.length === 0) {
      // Headless services without ports still list their pods.
      if (isHeadless(svc)) add([], addr, ready);
      continue;
    }
    const ports: any[] = [];
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: any = {};
      if (sp.name) ep.name = sp.name;
      ep.port = port;
      ep.protocol = sp.protocol ?? 'TCP';
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    if (ports.length === 0) continue;
    ports.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : a.port - b.port));
    add(ports, addr, ready);
  }
  const subsets: any[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const ss: any = {};
    if (g.addresses.length) ss.addresses = g.addresses.sort(compareAddresses);
    if (g.notReadyAddresses.length) ss.notReadyAddresses = g.notReadyAddresses.sort(compareAddresses);
    if (g.ports.length) ss.ports = g.ports;
    subsets.push(ss);
  }
  return subsets;
}

/**
 * Caps subsets at MAX_ENDPOINTS_CAPACITY addresses in place, as upstream: when the ready
 * addresses alone exceed it, not-ready ones are dropped and ready ones cut in proportion per
 * subset; otherwise only not-ready ones are cut. Returns whether anything was cut.
 */
export function truncateSubsets(subsets: any[], capacity = MAX_ENDPOINTS_CAPACITY): boolean {
  let ready = 0;
  let notReady = 0;
  for (const ss of subsets) {
    ready += ss.addresses?.length ?? 0;
    notReady += ss.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= capacity) return false;
  const cutReady = ready > capacity;
  const budget = cutReady ? capacity : capacity - ready;
  const total = cutReady ? ready : notReady;
  let left = budget;
  for (const ss of subsets) {
    const field = cutReady ? 'addresses' : 'notReadyAddresses';
    const n = ss[field]?.length ?? 0;
    const keep = Math.min(Math.ceil((n / total) * budget), left);
    if (n) ss[field] = ss[field].slice(0, keep);
    if (cutReady) delete ss.notReadyAddresses;
    if (ss[field] && ss[field].length === 0) delete ss[field];
    left -= ss[field]?.length ?? 0;
  }
  return true;
}
