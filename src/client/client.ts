// Client: the entry point components use. One RestClient (transport, rate limit, User-Agent)
// plus a ResourceClient per built-in resource (client.pods, client.leases, ...) and the
// pod binding call the scheduler makes.
import type { KObject } from '../api/types.js';
import { GVR, gvrKey, type BuiltinResourceName, type GroupVersionResource } from './gvr.js';
import { ResourceClient } from './resources.js';
import { RestClient, type RestClientOptions } from './rest.js';

type BuiltinClients = { readonly [K in BuiltinResourceName]: ResourceClient };

// Declaration merging gives the class one typed property per built-in resource.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Client extends BuiltinClients {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Client {
  readonly rest: RestClient;
  private readonly clients = new Map<string, ResourceClient>();

  constructor(opts: RestClientOptions | RestClient) {
    this.rest = opts instanceof RestClient ? opts : new RestClient(opts);
    for (const name of Object.keys(GVR) as BuiltinResourceName[]) {
      Object.defineProperty(this, name, { value: this.resource(GVR[name]), enumerable: true });
    }
  }

  /** The client of any resource (one instance per group/version/plural). */
  resource<T extends KObject = KObject>(gvr: GroupVersionResource): ResourceClient<T> {
    const key = gvrKey(gvr);
    let c = this.clients.get(key);
    if (!c) this.clients.set(key, (c = new ResourceClient(this.rest, gvr)));
    return c as unknown as ResourceClient<T>;
  }

  /** POST pods/<pod>/binding: assigns the pod to a node (uid, when given, must match the pod's). */
  bind(ns: string, pod: string, node: string, opts: { uid?: string; dryRun?: boolean } = {}): Promise<KObject> {
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod, namespace: ns, ...(opts.uid ? { uid: opts.uid } : {}) },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    };
    return this.rest.request('POST', this.pods.path(ns, pod, 'binding'), { body, query: { dryRun: opts.dryRun ? 'All' : undefined } });
  }

  /** Closes pooled connections; open watches end. */
  close(): void {
    this.rest.close();
  }
}

export function createClient(opts: RestClientOptions): Client {
  return new Client(opts);
}
