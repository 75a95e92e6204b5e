// The kubelet's public surface: startKubelet for `skiff server`/`skiff agent`, plus the
// pieces other components and tests reuse.
export { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.js';
export type { KubeletRuntime } from './runtime/types.js';
export { CriRuntime } from './runtime/cri-runtime.js';
export { startNodeRuntime, connectRuntime, type NodeRuntime } from './node-runtime.js';
export { buildConflist, writeCniConfig, CNI_CONFLIST_NAME, DEFAULT_BRIDGE } from './network/cni-config.js';
export { defaultKubeletLog, type KubeletLog } from './log.js';
export { KUBELET_VERSION } from './node/node-status.js';
