// skiff's kube-proxy (iptables mode). startProxy watches Services, EndpointSlices and this
// node, and keeps the SKIFF- chains of the nat and filter tables in step with them.
import { GVR, SharedInformerFactory, type Client, type KObject, type SharedInformer } from '../client/index.js';
import { resolveIptablesBackend, type IptablesBackend } from './backend.js';
import { cleanupProxyRules, type CleanupOptions } from './cleanup.js';
import type { IptablesFlavor } from './iptables.js';
import { Proxier, type ProxierOptions } from './proxier.js';
import { hostRunner } from './runner.js';

export { cleanupProxyRules, Proxier };
export type { CleanupOptions, ProxierOptions };
export { generateRules, JUMP_RULES, probability } from './rules.js';
export type { RulesConfig, ProxyState, SyncPlan, GeneratedRules } from './rules.js';
export { hostRunner, netnsRunner, type CommandRunner, type CommandResult } from './runner.js';
export { Iptables, parseSave, type IptablesFlavor } from './iptables.js';
export { parseIptablesBackend, resolveIptablesBackend, IPTABLES_BACKENDS, type IptablesBackend, type BackendChoice } from './backend.js';
export { servicePorts, type ServicePortInfo } from './service-port.js';
export { EndpointSliceCache, type EndpointInfo } from './endpoints.js';

/** As upstream: services opting into another proxy, and headless services' slices, are not ours. */
export const PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export interface StartProxyOptions extends Omit<ProxierOptions, 'log' | 'iptables'> {
  client: Client;
  /** Backend or command family (default "auto": the backend that holds the node's rules). */
  iptables?: IptablesBackend | IptablesFlavor;
  nodeName: string;
  /** Informer factory to share (e.g. the agent's); a private one is made otherwise. */
  informers?: SharedInformerFactory;
  log?: ProxierOptions['log'];
}

export interface ProxyHandle {
  proxier: Proxier;
  /** Resolves after the first successful sync. */
  firstSync: Promise<void>;
  /** Stops watching and syncing. Rules stay (like upstream) unless cleanup is set. */
  stop(opts?: { cleanup?: boolean }): Promise<void>;
}

export async function startProxy(opts: StartProxyOptions): Promise<ProxyHandle> {
  const log = opts.log ?? ((level, msg) => process.stderr.write(`skiff proxy: ${level}: ${msg}\n`));
  const backend = await resolveIptablesBackend(opts.iptables ?? 'auto', opts.runner ?? hostRunner);
  if (opts.iptables === undefined || opts.iptables === 'auto') log('info', `iptables backend: ${backend.flavor} (${backend.reason})`);
  const proxier = new Proxier({ ...opts, iptables: backend.flavor, log });
  const ownFactory = !opts.informers;
  const factory = opts.informers ?? new SharedInformerFactory(opts.client);
  const services = factory.informer(GVR.services, { labelSelector: PROXY_LABEL_SELECTOR });
  const slices = factory.informer(GVR.endpointSlices, { labelSelector: PROXY_LABEL_SELECTOR });
  const nodes = factory.informer(GVR.nodes, { fieldSelector: `metadata.name=${opts.nodeName}` });
  const regs = [
    services.addEventHandler({
      onAdd: (o) => proxier.onService(o),
      onUpdate: (_old, o) => proxier.onService(o),
      onDelete: (o) => proxier.onService(o, true),
    }),
    slices.addEventHandler({
      onAdd: (o) => proxier.onEndpointSlice(o),
      onUpdate: (_old, o) => proxier.onEndpointSlice(o),
      onDelete: (o) => proxier.onEndpointSlice(o, true),
    }),
    nodes.addEventHandler({
      onAdd: (o) => proxier.onNode(o),
      onUpdate: (_old, o) => proxier.onNode(o),
      onDelete: () => proxier.onNode(undefined),
    }),
  ];
  const abort = new AbortController();
  const markSynced = (inf: SharedInformer<KObject>, what: 'services' | 'endpointslices') =>
    void inf.waitForSync(abort.signal).then((ok) => ok && proxier.setSynced(what));
  markSynced(services, 'services');
  markSynced(slices, 'endpointslices');
  factory.start();

  return {
    proxier,
    firstSync: proxier.firstSync,
    async stop(stopOpts = {}) {
      abort.abort();
      for (const r of regs) r.remove();
      if (ownFactory) factory.stop();
      await proxier.stop();
      if (stopOpts.cleanup) await cleanupProxyRules({ runner: opts.runner, iptables: backend.flavor });
    },
  };
}
