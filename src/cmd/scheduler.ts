// `skiff scheduler`: kube-scheduler as a separate process, talking to the API server through a
// kubeconfig. Flags follow kube-scheduler's: --kubeconfig, --config, --leader-elect,
// --kube-api-qps, --kube-api-burst.
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { loadSchedulerConfig, defaultSchedulerConfig } from '../scheduler/config.js';
import { DEFAULT_PLUGINS, inTreeRegistry } from '../scheduler/plugins/index.js';
import { defaultIdentity, startScheduler } from '../scheduler/scheduler.js';
import { exitOnSignals, normalizeBoolFlags, parseBool, parseNumberFlag, runCommand } from './flags.js';

const USAGE = `Usage: skiff scheduler --kubeconfig PATH [--config FILE] [--leader-elect=true|false] [--kube-api-qps N] [--kube-api-burst N]
`;

export function run(argv: string[]): Promise<void> {
  return runCommand('scheduler', start, argv);
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: normalizeBoolFlags(argv, ['--leader-elect']),
    options: {
      kubeconfig: { type: 'string' },
      config: { type: 'string' },
      'leader-elect': { type: 'string' },
      'kube-api-qps': { type: 'string' },
      'kube-api-burst': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const opts = { registry: inTreeRegistry(), defaultPlugins: DEFAULT_PLUGINS };
  const config = values.config ? await loadSchedulerConfig(values.config, opts) : await defaultSchedulerConfig(opts);
  const kubeconfig = values.kubeconfig ?? config.clientConnection.kubeconfig;
  if (!kubeconfig) throw new Error(`--kubeconfig is required (or clientConnection.kubeconfig in --config)\n${USAGE}`);
  const leaderElect = values['leader-elect'] !== undefined ? parseBool(values['leader-elect'], '--leader-elect') : config.leaderElection.leaderElect;
  const client = new Client({
    kubeconfig,
    component: 'kube-scheduler',
    qps: parseNumberFlag(values['kube-api-qps'], '--kube-api-qps') ?? config.clientConnection.qps ?? 50,
    burst: parseNumberFlag(values['kube-api-burst'], '--kube-api-burst') ?? config.clientConnection.burst ?? 100,
  });
  const identity = defaultIdentity();
  const sched = await startScheduler({ client, config, identity, leaderElect });
  process.stdout.write(`skiff scheduler: running as ${identity} (profiles: ${config.profiles.map((p) => p.schedulerName).join(', ')}; leader election ${leaderElect ? 'on' : 'off'})\n`);

  exitOnSignals(async (signal) => {
    process.stdout.write(`skiff scheduler: ${signal}, shutting down\n`);
    await sched.stop();
    client.close();
  });
}
