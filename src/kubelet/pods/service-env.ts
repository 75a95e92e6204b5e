// Service links (enableServiceLinks, docker-links style env vars): for every service with a
// cluster IP in the pod's namespace, plus the "kubernetes" service of "default",
// <NAME>_SERVICE_HOST/_PORT and the <NAME>_PORT_<port>_<PROTO>* family.
import type { KObject } from '../../client/index.js';
import type { KeyValue } from '../runtime/types.js';

const envName = (s: string) => s.toUpperCase().replace(/-/g, '_');

function serviceVars(svc: KObject, out: KeyValue[]): void {
  const ip: string | undefined = svc.spec?.clusterIP;
  if (!ip || ip === 'None') return;
  const ports: KObject[] = svc.spec?.ports ?? [];
  if (!ports.length) return;
  const name = envName(svc.metadata?.name ?? '');
  out.push({ key: `${name}_SERVICE_HOST`, value: ip });
  out.push({ key: `${name}_SERVICE_PORT`, value: String(ports[0].port) });
  for (const p of ports) if (p.name) out.push({ key: `${name}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
  const first = ports[0];
  const proto0 = String(first.protocol ?? 'TCP').toLowerCase();
  out.push({ key: `${name}_PORT`, value: `${proto0}://${ip}:${first.port}` });
  for (const p of ports) {
    const proto = String(p.protocol ?? 'TCP');
    const prefix = `${name}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push({ key: prefix, value: `${proto.toLowerCase()}://${ip}:${p.port}` });
    out.push({ key: `${prefix}_PROTO`, value: proto.toLowerCase() });
    out.push({ key: `${prefix}_PORT`, value: String(p.port) });
    out.push({ key: `${prefix}_ADDR`, value: ip });
  }
}

/** The service env of a pod, given the services of its namespace and the default namespace's. */
export function serviceEnv(pod: KObject, nsServices: KObject[], defaultServices: KObject[]): KeyValue[] {
  const out: KeyValue[] = [];
  const links = pod.spec?.enableServiceLinks !== false;
  const seen = new Set<string>();
  const master = defaultServices.find((s) => s.metadata?.name === 'kubernetes');
  if (master) {
    serviceVars(master, out);
    seen.add('default/kubernetes');
  }
  if (links) {
    const sorted = [...nsServices].sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
    for (const s of sorted) {
      const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
      if (seen.has(key)) continue;
      serviceVars(s, out);
    }
  }
  return out;
}
