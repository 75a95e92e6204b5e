// The node-join protocol between `skiff agent` and the API server's HTTPS port (outside the
// Kubernetes API paths, like k3s's /cacerts and /v1-k3s/ endpoints):
//   GET  /skiff/v1/cacerts           unauthenticated; the server CA PEM, hashed by the agent
//                                    and compared with the hash in its join token
//   POST /skiff/v1/node-credentials  Authorization: Bearer <token secret>; NodeJoinRequest in,
//                                    NodeJoinResponse out (errors are metav1.Status JSON)
export const CACERTS_PATH = '/skiff/v1/cacerts';
export const NODE_CREDENTIALS_PATH = '/skiff/v1/node-credentials';

/** Identities the issued client certificates carry (upstream's node and kube-proxy users). */
export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';
export const KUBE_PROXY_USER = 'system:kube-proxy';

export interface NodeJoinRequest {
  nodeName: string;
  /**
   * A per-machine secret (k3s's node password). The first join of a name records its hash;
   * later joins of that name must present the same one, so a token holder cannot take over
   * another node's identity.
   */
  nodePassword: string;
  /** PKCS#10 CSR (PEM) for the kubelet's client certificate; its subject is ignored. */
  csrPem: string;
  /** CSR for the kubelet's serving certificate (default: csrPem's key). */
  servingCsrPem?: string;
  /** CSR for a kube-proxy client certificate, when the agent runs the proxy. */
  proxyCsrPem?: string;
  /** Addresses the kubelet serves on: IP SANs of the serving certificate. */
  nodeIPs?: string[];
}

export interface NodeJoinResponse {
  /** The server CA: verifies the API server and kubelet serving certs. */
  caPem: string;
  /** The client CA: the kubelet's server verifies the API server's client cert with it. */
  clientCaPem: string;
  /** CN system:node:<nodeName>, O system:nodes, signed by the client CA. */
  clientCertPem: string;
  /** For the kubelet's :10250 server, signed by the server CA. */
  servingCertPem: string;
  /** CN system:kube-proxy, when proxyCsrPem was sent. */
  proxyCertPem?: string;
}
