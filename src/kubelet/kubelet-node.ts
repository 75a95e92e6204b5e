// A complete node: the kubelet plus its HTTPS server (logs, exec, attach, port-forward),
// started the same way by `skiff server`, `skiff agent` and `skiff kubelet`. The server
// listens before the kubelet registers, so the Node's daemonEndpoints name the port it
// really has from the first status on.
import { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.js';
import { defaultKubeletLog } from './log.js';
import { openNodeRuntime, type NodeRuntime } from './node-runtime.js';
import { CriRuntime } from './runtime/cri-runtime.js';
import { criStreamingRuntime, DEFAULT_KUBELET_PORT, startKubeletServer, type KubeletServer, type StreamingRuntime } from './server/server.js';

export interface KubeletServingTls {
  /** The serving certificate (the API server verifies it against the cluster's server CA). */
  certPem: string;
  keyPem: string;
  /** The CA whose client certificates may call (the API server's kubelet client). */
  clientCaPem: string;
}

export interface KubeletNodeOptions extends Omit<KubeletOptions, 'kubeletPort'> {
  /** TLS for the kubelet server. Without it (or with a runtime that is not CRI) no server runs. */
  tls?: KubeletServingTls;
  /** The kubelet server's port (default 10250; 0 picks a free one). */
  port?: number;
  /** The kubelet server's bind address (default 0.0.0.0). */
  bindAddress?: string;
  /** What the server streams from when the runtime is not CRI (tests, fakes); default: the CRI runtime's. */
  streamingRuntime?: StreamingRuntime;
}

export interface KubeletNode {
  kubelet: Kubelet;
  server?: KubeletServer;
  /** The port the kubelet server listens on (the one in daemonEndpoints). */
  port: number;
  /** Stops the server, the kubelet and the runtime it started (pods keep running). */
  stop(): Promise<void>;
}

export async function startKubeletNode(opts: KubeletNodeOptions): Promise<KubeletNode> {
  const log = opts.log ?? defaultKubeletLog();
  const { tls, port: wantPort, bindAddress, streamingRuntime, ...kubeletOpts } = opts;
  let owned: NodeRuntime | undefined;
  let runtime = opts.runtime;
  let cniConfDir = opts.cniConfDir;
  if (!runtime) {
    owned = await openNodeRuntime({ dataDir: opts.dataDir, containerdSocket: opts.containerdSocket, cniConfDir, log });
    runtime = owned.runtime;
    cniConfDir ??= owned.cniConfDir;
  }
  let server: KubeletServer | undefined;
  // The server starts first (its port goes into the Node's status), so it asks the kubelet for
  // its pods once there is one; until then it knows none, as upstream's before its first sync.
  let kubelet: Kubelet | undefined;
  try {
    const serverRuntime = streamingRuntime ?? (runtime instanceof CriRuntime ? criStreamingRuntime(runtime.cri) : undefined);
    if (tls && serverRuntime) {
      server = await startKubeletServer({
        nodeName: opts.nodeName,
        runtime: serverRuntime,
        tls,
        port: wantPort ?? DEFAULT_KUBELET_PORT,
        bindAddress,
        getPod: (namespace, name) => kubelet?.getPod(namespace, name),
        listPods: () => kubelet?.listPods() ?? [],
        log,
      });
    } else if (tls) log('warning', 'the container runtime is not CRI: the kubelet server (logs, exec, port-forward) does not run');
    const port = server?.port ?? wantPort ?? DEFAULT_KUBELET_PORT;
    kubelet = await startKubelet({ ...kubeletOpts, runtime, cniConfDir, kubeletPort: port, log });
    const started = kubelet;
    return {
      kubelet: started,
      server,
      port,
      async stop() {
        await server?.close().catch((e: Error) => log('warning', `stopping the kubelet server: ${e.message}`));
        await started.stop();
        await owned?.stop();
      },
    };
  } catch (e) {
    await server?.close().catch(() => undefined);
    await owned?.stop().catch(() => undefined);
    throw e;
  }
}
