// `skiff agent` as a library: join the cluster (or reuse saved credentials), then run the
// kubelet, its HTTPS server and the service proxy in this process, each with a client built
// from its own kubeconfig, as a k3s agent does.
import { Client, setClientLogger } from '../client/index.js';
import { defaultKubeletLog, startKubeletNode, type Kubelet, type KubeletLog } from '../kubelet/index.js';
import { DEFAULT_KUBELET_PORT, type KubeletServer } from '../kubelet/server/server.js';
import { primaryIPv4 } from '../kubelet/node/host-info.js';
import { startProxy, type IptablesBackend, type ProxyHandle } from '../proxy/index.js';
import { ensureAgentCredentials, type AgentCredentials } from './credentials.js';

export { ensureAgentCredentials, AGENT_FILES, type AgentCredentials, type AgentCredentialOptions } from './credentials.js';
export { JoinError, TOKEN_REJECTED, CA_MISMATCH } from './join-client.js';
export { parseJoinToken, formatJoinToken, caHash, type JoinToken } from './join-token.js';

export interface AgentOptions {
  serverUrl: string;
  token: string;
  /** The agent's data dir (kubelet state, containerd, credentials under <dataDir>/agent). */
  dataDir: string;
  nodeName: string;
  nodeIP?: string;
  podCIDR?: string;
  /** CNI bridge for this node's pods (default skiff0; a second node on the same host needs its own). */
  bridgeName?: string;
  nodeLabels?: Record<string, string>;
  clusterDNS?: string[];
  clusterDomain?: string;
  /** Use a running containerd instead of starting skiff's own. */
  containerdSocket?: string;
  /** Run the kubelet (default true). False only joins and writes the kubeconfigs. */
  kubelet?: boolean;
  /** Run the service proxy (default true). */
  proxy?: boolean;
  /** Which iptables the proxy programs (default auto). */
  iptablesBackend?: IptablesBackend;
  /** The kubelet's HTTPS port (default 10250; 0 picks a free one). */
  kubeletPort?: number;
  /** See AgentCredentialOptions.waitMs. */
  joinWaitMs?: number;
  verbose?: boolean;
  log?: KubeletLog;
}

export interface Agent {
  nodeName: string;
  credentials: AgentCredentials;
  kubelet?: Kubelet;
  kubeletServer?: KubeletServer;
  proxy?: ProxyHandle;
  stop(): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const log = opts.log ?? defaultKubeletLog(opts.verbose);
  const runKubelet = opts.kubelet ?? true;
  const runProxy = runKubelet && (opts.proxy ?? true);
  const nodeIP = opts.nodeIP ?? primaryIPv4();
  const credentials = await ensureAgentCredentials({
    dataDir: opts.dataDir,
    serverUrl: opts.serverUrl,
    token: opts.token,
    nodeName: opts.nodeName,
    nodeIPs: nodeIP ? [nodeIP] : [],
    withProxy: runProxy,
    waitMs: opts.joinWaitMs,
    log: (msg) => log('info', msg),
  });
  log('info', credentials.joined ? `joined the cluster at ${opts.serverUrl} as node ${opts.nodeName}` : `using saved credentials in ${credentials.agentDir}`);
  const agent: Agent = { nodeName: opts.nodeName, credentials, stop: async () => undefined };
  if (!runKubelet) return agent;

  const clients: Client[] = [];
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => log('warning', `stopping: ${(e as Error).message}`));
    stops.length = 0;
    for (const c of clients) c.close();
  };
  agent.stop = stop;
  try {
    setClientLogger((level, msg) => log(level, msg));
    const kubeletClient = new Client({ kubeconfig: credentials.kubeletKubeconfig, component: 'kubelet', qps: 50, burst: 100 });
    clients.push(kubeletClient);
    // The kubelet and its :10250 API (logs, exec, port-forward) with the serving cert the join issued.
    const node = await startKubeletNode({
      client: kubeletClient,
      nodeName: opts.nodeName,
      dataDir: opts.dataDir,
      podCIDR: opts.podCIDR,
      bridgeName: opts.bridgeName,
      containerdSocket: opts.containerdSocket,
      nodeIP,
      nodeLabels: opts.nodeLabels,
      clusterDNS: opts.clusterDNS,
      clusterDomain: opts.clusterDomain,
      clusterCA: credentials.serverCaPem,
      tls: { ...credentials.serving, clientCaPem: credentials.clientCaPem },
      port: opts.kubeletPort ?? DEFAULT_KUBELET_PORT,
      log,
    });
    agent.kubelet = node.kubelet;
    agent.kubeletServer = node.server;
    stops.push(() => node.stop());
    if (runProxy && credentials.proxyKubeconfig) {
      const proxyClient = new Client({ kubeconfig: credentials.proxyKubeconfig, component: 'kube-proxy' });
      clients.push(proxyClient);
      const proxy = await startProxy({ client: proxyClient, nodeName: opts.nodeName, iptables: opts.iptablesBackend, log: (level, msg) => log(level, `proxy: ${msg}`) });
      agent.proxy = proxy;
      stops.push(() => proxy.stop());
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return agent;
}
