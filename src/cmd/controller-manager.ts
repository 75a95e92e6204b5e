// `skiff controller-manager`: the controllers as their own process, like kube-controller-manager.
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { defaultIdentity, startControllerManager } from '../controllers/manager.js';
import { exitOnSignals, negatableBoolFlags } from './flags.js';

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`invalid --${flag}: ${v}`);
  return n;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args: negatableBoolFlags(args, ['leader-elect']),
    options: {
      kubeconfig: { type: 'string' },
      controllers: { type: 'string', multiple: true },
      'leader-elect': { type: 'boolean', default: true },
      'leader-elect-lease-duration': { type: 'string' },
      'leader-elect-renew-deadline': { type: 'string' },
      'leader-elect-retry-period': { type: 'string' },
      'kube-api-qps': { type: 'string', default: '20' },
      'kube-api-burst': { type: 'string', default: '30' },
      'concurrent-deployment-syncs': { type: 'string' },
      'concurrent-replicaset-syncs': { type: 'string' },
      'concurrent-syncs': { type: 'string' },
      'node-monitor-grace-period': { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'node-cidr-mask-size': { type: 'string' },
      'terminated-pod-gc-threshold': { type: 'string' },
      'storage-dir': { type: 'string' },
    },
    allowNegative: true,
    strict: true,
  });
  if (!values.kubeconfig) throw new Error('skiff controller-manager: --kubeconfig is required');
  const client = new Client({
    kubeconfig: values.kubeconfig,
    component: 'kube-controller-manager',
    qps: int('kube-api-qps', values['kube-api-qps']),
    burst: int('kube-api-burst', values['kube-api-burst']),
  });
  const concurrentSyncs: Record<string, number> = {};
  const dep = int('concurrent-deployment-syncs', values['concurrent-deployment-syncs']);
  const rs = int('concurrent-replicaset-syncs', values['concurrent-replicaset-syncs']);
  if (dep !== undefined) concurrentSyncs.deployment = dep;
  if (rs !== undefined) concurrentSyncs.replicaset = rs;
  const seconds = (flag: string, v: string | undefined) => {
    const m = v === undefined ? undefined : /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
    if (v !== undefined && !m) throw new Error(`invalid --${flag}: ${v}`);
    return m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : undefined;
  };
  const options = Object.fromEntries(
    Object.entries({
      workers: int('concurrent-syncs', values['concurrent-syncs']),
      nodeMonitorGracePeriodMs: seconds('node-monitor-grace-period', values['node-monitor-grace-period']),
      clusterCIDR: values['cluster-cidr'],
      nodeCIDRMaskSize: int('node-cidr-mask-size', values['node-cidr-mask-size']),
      terminatedPodGCThreshold: int('terminated-pod-gc-threshold', values['terminated-pod-gc-threshold']),
      // Base directory of skiff.io/host-path volumes (skiff server: DATA_DIR/storage).
      storageDir: values['storage-dir'],
    }).filter(([, v]) => v !== undefined),
  );
  const manager = await startControllerManager({
    client,
    controllers: values.controllers,
    leaderElect: values['leader-elect']!,
    identity: defaultIdentity(),
    options,
    concurrentSyncs,
    leaseDurationMs: seconds('leader-elect-lease-duration', values['leader-elect-lease-duration']),
    renewDeadlineMs: seconds('leader-elect-renew-deadline', values['leader-elect-renew-deadline']),
    retryPeriodMs: seconds('leader-elect-retry-period', values['leader-elect-retry-period']),
  });
  process.stdout.write('skiff controller-manager: running\n');
  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff controller-manager: ${signal}, shutting down\n`);
    await manager.stop();
    client.close();
  });
}
