// Discovery documents: /api, /apis, per-group and per-version lists, and the aggregated
// discovery format (apidiscovery.k8s.io/v2 and v2beta1) that kubectl 1.27+ asks for first.
import type { Resource } from './resource.js';

/** Subresources served for every resource that has them (verbs as upstream). */
const STATUS_VERBS = ['get', 'patch', 'update'];

interface SubresourceInfo {
  name: string;
  verbs: string[];
  kind?: { group: string; version: string; kind: string };
}

/** Extra subresources registered by the server beyond the def's (pods/log, pods/exec ...). */
export type ExtraSubresources = Map<Resource, SubresourceInfo[]>;

function subresourcesOf(r: Resource, extra: ExtraSubresources): SubresourceInfo[] {
  const out: SubresourceInfo[] = [];
  const s = r.def.subresources ?? {};
  if (s.status) out.push({ name: 'status', verbs: STATUS_VERBS });
  if (s.scale) out.push({ name: 'scale', verbs: STATUS_VERBS, kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } });
  if (s.binding) out.push({ name: 'binding', verbs: ['create'], kind: { group: '', version: 'v1', kind: 'Binding' } });
  out.push(...(extra.get(r) ?? []));
  return out;
}

export class Discovery {
  /** group -> version -> resources, in registration order (core first). */
  private readonly groups = new Map<string, Map<string, Resource[]>>();
  private cache = new Map<string, string>();

  constructor(resources: Resource[], private readonly extra: ExtraSubresources = new Map()) {
    for (const r of resources) {
      let versions = this.groups.get(r.group);
      if (!versions) this.groups.set(r.group, (versions = new Map()));
      let list = versions.get(r.version);
      if (!list) versions.set(r.version, (list = []));
      list.push(r);
    }
  }

  hasGroupVersion(group: string, version: string): boolean {
    return !!this.groups.get(group)?.get(version);
  }

  private memo(key: string, build: () => unknown): string {
    let s = this.cache.get(key);
    if (s === undefined) this.cache.set(key, (s = JSON.stringify(build())));
    return s;
  }

  /** GET /api */
  coreVersions(): string {
    return this.memo('api', () => ({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }],
    }));
  }

  private groupInfo(group: string): Record<string, unknown> {
    const versions = [...this.groups.get(group)!.keys()].map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    return { name: group, versions, preferredVersion: versions[0] };
  }

  /** GET /apis */
  groupList(): string {
    return this.memo('apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...this.groups.keys()].filter((g) => g !== '').map((g) => this.groupInfo(g)),
    }));
  }

  /** GET /apis/<group> */
  group(group: string): string | undefined {
    if (!group || !this.groups.has(group)) return undefined;
    return this.memo(`g:${group}`, () => ({ kind: 'APIGroup', apiVersion: 'v1', ...this.groupInfo(group) }));
  }

  /** GET /api/v1 or /apis/<group>/<version> */
  resourceList(group: string, version: string): string | undefined {
    const list = this.groups.get(group)?.get(version);
    if (!list) return undefined;
    return this.memo(`rl:${group}/${version}`, () => {
      const resources: unknown[] = [];
      for (const r of list) {
        resources.push({
          name: r.plural,
          singularName: r.def.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: r.verbs,
          ...(r.def.shortNames?.length ? { shortNames: r.def.shortNames } : {}),
          ...(r.def.categories?.length ? { categories: r.def.categories } : {}),
        });
        for (const s of subresourcesOf(r, this.extra)) {
          resources.push({
            name: `${r.plural}/${s.name}`,
            singularName: '',
            namespaced: r.namespaced,
            ...(s.kind ? { group: s.kind.group || undefined, version: s.kind.version, kind: s.kind.kind } : { kind: r.kind }),
            verbs: s.verbs,
          });
        }
      }
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
    });
  }

  /** Aggregated discovery for /api (core: true) or /apis, in the given apidiscovery version. */
  aggregated(core: boolean, version: 'v2' | 'v2beta1'): string {
    return this.memo(`agg:${core}:${version}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${version}`,
      metadata: {},
      items: [...this.groups.keys()]
        .filter((g) => (g === '') === core)
        .map((g) => ({
          metadata: g ? { name: g } : {},
          versions: [...this.groups.get(g)!.entries()].map(([v, list]) => ({
            version: v,
            resources: list.map((r) => ({
              resource: r.plural,
              responseKind: { group: r.group, version: r.version, kind: r.kind },
              scope: r.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: r.def.singular,
              verbs: r.verbs,
              ...(r.def.shortNames?.length ? { shortNames: r.def.shortNames } : {}),
              ...(r.def.categories?.length ? { categories: r.def.categories } : {}),
              subresources: subresourcesOf(r, this.extra).map((s) => ({
                subresource: s.name,
                responseKind: s.kind ?? { group: r.group, version: r.version, kind: r.kind },
                verbs: s.verbs,
              })),
            })),
            freshness: 'Current',
          })),
        })),
    }));
  }
}

/** Which aggregated discovery version the Accept header asks for, if any. */
export function aggregatedDiscoveryVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept || !accept.includes('as=APIGroupDiscoveryList')) return undefined;
  for (const part of accept.split(',')) {
    if (!part.includes('as=APIGroupDiscoveryList') || !part.includes('g=apidiscovery.k8s.io')) continue;
    if (/;\s*v=v2(\s*;|\s*$)/.test(part)) return 'v2';
    if (/;\s*v=v2beta1/.test(part)) return 'v2beta1';
  }
  return undefined;
}
