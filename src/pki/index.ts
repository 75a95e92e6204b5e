// Public surface of the cluster PKI.
export { ensureServerPki, issueClientCert, issueServingCert, TLS_FILES, DEFAULT_SERVING_DNS_NAMES, DEFAULT_SERVING_IPS } from './server-pki.js';
export type { ServerPki, ServerPkiOptions } from './server-pki.js';
export { writeKubeconfig, kubeconfigYaml } from './kubeconfig.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { userFromPeerCertificate } from './identity.js';
export type { CertUser } from './identity.js';
