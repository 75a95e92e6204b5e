// kubeconfig files with embedded credentials, named like k3s writes them.
import { stringify } from 'yaml';
import { PRIVATE_MODE, writeFileAtomic } from './files.js';

export interface KubeconfigOptions {
  /** API server URL, e.g. https://127.0.0.1:6443 */
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Cluster entry name; default "default". */
  clusterName?: string;
  /** User entry name; default "default". */
  user?: string;
  /** Context name; default "default". */
  contextName?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function kubeconfigYaml(opts: KubeconfigOptions): string {
  const cluster = opts.clusterName ?? 'default';
  const user = opts.user ?? 'default';
  const context = opts.contextName ?? 'default';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    contexts: [{ name: context, context: { cluster, user } }],
    'current-context': context,
    preferences: {},
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(opts.certPem), 'client-key-data': b64(opts.keyPem) },
      },
    ],
  }, { lineWidth: 0 });
}

/** Writes a kubeconfig (mode 0600, parent dirs created) atomically. */
export function writeKubeconfig(path: string, opts: KubeconfigOptions): void {
  writeFileAtomic(path, kubeconfigYaml(opts), PRIVATE_MODE);
}
