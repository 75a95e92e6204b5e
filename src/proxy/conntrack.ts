// UDP has no connection to close, so a conntrack entry keeps steering a client's datagrams to
// the endpoint it was first DNATed to, even after that endpoint is gone, for as long as the
// client keeps sending (or an unreplied entry made while the service had no endpoints keeps
// bypassing the new DNAT rules). Like upstream kube-proxy, after each sync we delete those
// entries with the conntrack tool: for endpoints that left a UDP service port, the entries
// from its service addresses to that endpoint; for a UDP service port that went from no
// endpoints to some, every entry to its service addresses.
import type { EndpointInfo, ServiceEndpoints } from './endpoints.js';
import type { CommandRunner } from './runner.js';
import type { ServicePortInfo } from './service-port.js';

/** One `conntrack -D` filter (arguments after -D). */
export type ConntrackFilter = string[];

function serviceAddressFilters(sp: ServicePortInfo, dnatTo?: string): ConntrackFilter[] {
  const nat = dnatTo ? ['--dst-nat', dnatTo] : [];
  const out: ConntrackFilter[] = [];
  for (const ip of [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs]) {
    out.push(['--orig-dst', ip, '-p', 'udp', '--orig-port-dst', String(sp.port), ...nat]);
  }
  if (sp.nodePort > 0) out.push(['-p', 'udp', '--orig-port-dst', String(sp.nodePort), ...nat]);
  return out;
}

const usable = (eps: EndpointInfo[] | undefined) => new Set((eps ?? []).filter((e) => e.ready || e.serving).map((e) => e.ip));

/**
 * The filters for one service between two syncs: before = what the last applied sync used,
 * after = what this one applies (ports and endpoints; undefined = absent).
 */
export function staleUdpFilters(
  before: { ports?: ServicePortInfo[]; endpoints?: ServiceEndpoints },
  after: { ports?: ServicePortInfo[]; endpoints?: ServiceEndpoints },
): ConntrackFilter[] {
  const out: ConntrackFilter[] = [];
  for (const sp of before.ports ?? []) {
    if (sp.protocol !== 'udp') continue;
    const now = after.ports?.find((p) => p.key === sp.key);
    const was = usable(before.endpoints?.get(sp.key));
    const is = now ? usable(after.endpoints?.get(sp.key)) : new Set<string>();
    for (const ip of was) if (!is.has(ip)) out.push(...serviceAddressFilters(sp, ip));
  }
  for (const sp of after.ports ?? []) {
    if (sp.protocol !== 'udp') continue;
    const old = before.ports?.find((p) => p.key === sp.key);
    const had = old ? usable(before.endpoints?.get(sp.key)).size > 0 : false;
    if (!had && usable(after.endpoints?.get(sp.key)).size > 0) out.push(...serviceAddressFilters(sp));
  }
  return out;
}

/** Runs `conntrack -D` per filter; "0 flow entries" (exit 1) is not an error. Returns failures. */
export async function deleteConntrack(runner: CommandRunner, filters: ConntrackFilter[]): Promise<string[]> {
  const errors: string[] = [];
  for (const f of filters) {
    const r = await runner.run('conntrack', ['-D', ...f]);
    if (r.code === 0 || /0 flow entries have been deleted/.test(r.stderr)) continue;
    errors.push(`conntrack -D ${f.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
    if (r.code === 127) break; // not installed: say it once
  }
  return errors;
}
