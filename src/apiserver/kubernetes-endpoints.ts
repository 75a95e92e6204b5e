// The `kubernetes` Service has no selector, so no controller fills its endpoints: like
// upstream's endpoint reconciler, the API server itself keeps Endpoints `kubernetes` and
// EndpointSlice `kubernetes` (namespace default) pointing at its advertise address and secure
// port, so pods reach https://kubernetes.default.svc through the service proxy. It rewrites
// them when they are missing or differ, at start and every few seconds (someone may delete
// or edit them).
import type { KObject } from '../api/types.js';
import { primaryIPv4 } from '../kubelet/node/host-info.js';
import { systemContext } from './context.js';
import { ApiError } from './errors.js';
import type { Registry } from './registry.js';
import type { Resource } from './resource.js';

export const KUBERNETES_SERVICE = 'kubernetes';
const NAMESPACE = 'default';
const RECONCILE_MS = 10_000;

export interface KubernetesEndpointsOptions {
  /** The address clients reach the API server on (default: see advertiseAddress). */
  address: string;
  /** The API server's HTTPS port. */
  port: number;
  intervalMs?: number;
}

/**
 * The address pods should use: the bind address when it names one routable interface,
 * otherwise the host's primary IPv4 (as upstream defaults --advertise-address), loopback last.
 */
export function advertiseAddress(bindAddress: string | undefined): string {
  if (bindAddress && bindAddress !== '0.0.0.0' && bindAddress !== '::' && !bindAddress.startsWith('127.')) return bindAddress;
  return primaryIPv4() ?? '127.0.0.1';
}

export function desiredEndpoints(address: string, port: number): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    // The mirroring controller must not copy these into a second slice (upstream sets this too).
    metadata: { name: KUBERNETES_SERVICE, namespace: NAMESPACE, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: address }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
  } as KObject;
}

export function desiredEndpointSlice(address: string, port: number): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: KUBERNETES_SERVICE, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': KUBERNETES_SERVICE } },
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  } as KObject;
}

/** The fields the reconciler owns (labels it sets, and the addresses and ports). */
function owned(obj: KObject): string {
  const o = obj as KObject & { subsets?: unknown; endpoints?: unknown; ports?: unknown; addressType?: unknown };
  return JSON.stringify([o.subsets, o.endpoints, o.ports, o.addressType]);
}

function labelsMissing(cur: KObject, want: KObject): boolean {
  const have = cur.metadata?.labels ?? {};
  return Object.entries(want.metadata?.labels ?? {}).some(([k, v]) => have[k] !== v);
}

async function reconcileOne(registry: Registry, r: Resource | undefined, want: KObject): Promise<void> {
  if (!r) return;
  const ctx = systemContext('skiff-apiserver');
  const entry = registry.entry(r, NAMESPACE, KUBERNETES_SERVICE);
  if (!entry) {
    await registry.create(ctx, r, NAMESPACE, structuredClone(want));
    return;
  }
  const cur = registry.external(r, entry.obj);
  if (owned(cur) === owned(want) && !labelsMissing(cur, want)) return;
  const next = { ...structuredClone(want), metadata: { ...structuredClone(cur.metadata), labels: { ...cur.metadata?.labels, ...want.metadata?.labels } } };
  await registry.update(ctx, r, NAMESPACE, KUBERNETES_SERVICE, next);
}

export interface KubernetesEndpointsReconciler {
  /** Resolves after one reconcile pass (start awaits the first). */
  reconcile(): Promise<void>;
  stop(): void;
}

export async function startKubernetesEndpoints(
  registry: Registry,
  byPath: ReadonlyMap<string, Resource>,
  opts: KubernetesEndpointsOptions,
): Promise<KubernetesEndpointsReconciler> {
  const endpoints = byPath.get('/v1/endpoints');
  const slices = byPath.get('discovery.k8s.io/v1/endpointslices');
  let stopped = false;
  const reconcile = async () => {
    if (stopped) return;
    for (const [r, want] of [
      [endpoints, desiredEndpoints(opts.address, opts.port)],
      [slices, desiredEndpointSlice(opts.address, opts.port)],
    ] as const) {
      try {
        await reconcileOne(registry, r, want);
      } catch (e) {
        // A racing writer (AlreadyExists, Conflict) is settled on the next pass.
        if (!(e instanceof ApiError) && !stopped) process.stderr.write(`skiff apiserver: kubernetes endpoints: ${(e as Error).message}\n`);
      }
    }
  };
  await reconcile();
  const timer = setInterval(() => void reconcile(), opts.intervalMs ?? RECONCILE_MS);
  timer.unref();
  return {
    reconcile,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
