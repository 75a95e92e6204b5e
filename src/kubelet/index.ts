// The kubelet's public surface: startKubeletNode (kubelet + its :10250 server) for `skiff
// server`, `skiff agent` and `skiff kubelet`, plus the pieces other components and tests reuse.
export { startKubeletNode, type KubeletNode, type KubeletNodeOptions, type KubeletServingTls } from './kubelet-node.js';
export { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.js';
export type { KubeletRuntime } from './runtime/types.js';
export { CriRuntime } from './runtime/cri-runtime.js';
export { startNodeRuntime, connectRuntime, openNodeRuntime, type NodeRuntime } from './node-runtime.js';
export { buildConflist, writeCniConfig, CNI_CONFLIST_NAME, DEFAULT_BRIDGE } from './network/cni-config.js';
export { defaultKubeletLog, type KubeletLog } from './log.js';
export { KUBELET_VERSION } from './node/node-status.js';
