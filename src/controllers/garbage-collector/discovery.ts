// Server discovery for generic controllers (namespace deletion, garbage collection): every
// top-level resource of every served group version, with its verbs and scope, plus a kind →
// resource mapper (upstream's RESTMapper) for ownerReferences.
import type { GroupVersionResource, RestClient } from '../../client/index.js';

export interface DiscoveredResource extends GroupVersionResource {
  kind: string;
  verbs: string[];
  /** Served in its group's preferred version (upstream ServerPreferredResources keeps only these). */
  preferred: boolean;
}

export interface DiscoveryResult {
  resources: DiscoveredResource[];
  /** Group versions whose resource list could not be read ("apps/v1" → error). */
  failed: Map<string, Error>;
}

interface ApiResource {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
}

/** Reads /api and /apis and each group version's resource list (subresources left out). */
export async function discoverResources(rest: RestClient): Promise<DiscoveryResult> {
  const versions: Array<{ group: string; version: string; preferred: boolean }> = [];
  const core = await rest.request<{ versions?: string[] }>('GET', '/api');
  (core.versions ?? []).forEach((v, i) => versions.push({ group: '', version: v, preferred: i === 0 }));
  const groups = await rest.request<{ groups?: Array<{ name: string; versions: Array<{ version: string }>; preferredVersion?: { version: string } }> }>('GET', '/apis');
  for (const g of groups.groups ?? []) {
    const pref = g.preferredVersion?.version ?? g.versions[0]?.version;
    for (const v of g.versions) versions.push({ group: g.name, version: v.version, preferred: v.version === pref });
  }
  const failed = new Map<string, Error>();
  const lists = await Promise.all(
    versions.map(async (gv) => {
      const path = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
      try {
        const list = await rest.request<{ resources?: ApiResource[] }>('GET', path);
        return { gv, resources: list.resources ?? [] };
      } catch (e) {
        failed.set(gv.group ? `${gv.group}/${gv.version}` : gv.version, e as Error);
        return { gv, resources: [] };
      }
    }),
  );
  const resources: DiscoveredResource[] = [];
  for (const { gv, resources: list } of lists) {
    for (const r of list) {
      if (r.name.includes('/')) continue;
      resources.push({
        group: gv.group,
        version: gv.version,
        plural: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
        preferred: gv.preferred,
      });
    }
  }
  return { resources, failed };
}

export function supportsVerbs(r: DiscoveredResource, ...verbs: string[]): boolean {
  return verbs.every((v) => r.verbs.includes(v));
}

/** "v1" → ["", "v1"], "apps/v1" → ["apps", "v1"]. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Maps (apiVersion, kind) to the resource serving it; another version of the same group and kind is accepted. */
export class KindMapper {
  private readonly exact = new Map<string, DiscoveredResource>();
  private readonly byGroupKind = new Map<string, DiscoveredResource>();

  constructor(resources: DiscoveredResource[] = []) {
    this.add(resources);
  }

  add(resources: DiscoveredResource[]): void {
    for (const r of resources) {
      const gv = r.group ? `${r.group}/${r.version}` : r.version;
      if (!this.exact.has(`${gv}|${r.kind}`)) this.exact.set(`${gv}|${r.kind}`, r);
      const gk = `${r.group}|${r.kind}`;
      const cur = this.byGroupKind.get(gk);
      if (!cur || (!cur.preferred && r.preferred)) this.byGroupKind.set(gk, r);
    }
  }

  map(apiVersion: string, kind: string): DiscoveredResource | undefined {
    const hit = this.exact.get(`${apiVersion}|${kind}`);
    if (hit) return hit;
    return this.byGroupKind.get(`${parseApiVersion(apiVersion).group}|${kind}`);
  }
}
