// `skiff hollow-nodes`: N simulated nodes in one process for scale tests (like kwok). They
// register, heartbeat and run the pods bound to them without running any container.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { loadNodeTemplate, parseLabels, parseTaints, startHollowNodes } from '../hollow/index.js';
import { exitOnSignals, goDurationMs, parseNumberFlag } from './flags.js';

const USAGE = `Usage: skiff hollow-nodes --count N [flags]

Flags:
  --count N                  nodes to simulate (required)
  --kubeconfig PATH          default $KUBECONFIG or ~/.kube/config
  --name-prefix STR          node names are <prefix><index> (default hollow-node-)
  --cpu Q --memory Q --pods N --ephemeral-storage Q
                             capacity and allocatable (default 32, 256Gi, 110, 1Ti)
  --labels k=v,...           extra node labels
  --taints k=v:Effect,...    node taints (replace the template's)
  --zones N                  topology.kubernetes.io/zone=zone-<index % N> (default 3)
  --template FILE.yaml       a Node manifest: labels, annotations, taints, capacity,
                             allocatable and nodeInfo for every node
  --pod-complete-after D     Job / restartPolicy Never|OnFailure pods succeed after D (default 1s)
  --heartbeat-interval D     lease renewal period (default 10s)
  --node-status-report-frequency D
                             Ready heartbeat refresh period (default 1m)
  --qps N --burst N          client-side API rate limit (default 200 / 400)
  --max-in-flight N          node and lease writes in flight at once (default 32)
  --pod-workers N            concurrent pod status writers (default 8)
  --stats-interval D         print write counters every D (default 1m; 0: never)
`;

/** A Go duration ("1s", "1m30s", "250ms") in milliseconds. */
export function parseDuration(v: string, flag: string): number {
  const ms = goDurationMs(v);
  if (ms === undefined) throw new Error(`invalid argument "${v}" for "--${flag}" flag: time: invalid duration`);
  return ms;
}

function parseCount(v: string | undefined, flag: string, dflt?: number): number | undefined {
  return parseNumberFlag(v, `--${flag}`, { nonNegative: true }) ?? dflt;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' },
      kubeconfig: { type: 'string' },
      'name-prefix': { type: 'string' },
      cpu: { type: 'string' },
      memory: { type: 'string' },
      pods: { type: 'string' },
      'ephemeral-storage': { type: 'string' },
      labels: { type: 'string' },
      taints: { type: 'string' },
      zones: { type: 'string' },
      template: { type: 'string' },
      'pod-complete-after': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'node-status-report-frequency': { type: 'string' },
      qps: { type: 'string' },
      burst: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'pod-workers': { type: 'string' },
      'stats-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const count = parseCount(values.count, 'count');
  if (count === undefined || !Number.isInteger(count)) throw new Error(`--count N is required\n${USAGE}`);
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
  const qps = parseCount(values.qps, 'qps', 200)!;
  const burst = parseCount(values.burst, 'burst', 400)!;
  const heartbeatMs = values['heartbeat-interval'] ? parseDuration(values['heartbeat-interval'], 'heartbeat-interval') : 10_000;
  const statusMs = values['node-status-report-frequency'] ? parseDuration(values['node-status-report-frequency'], 'node-status-report-frequency') : 60_000;
  if (heartbeatMs <= 0 || statusMs <= 0) throw new Error('--heartbeat-interval and --node-status-report-frequency must be positive');
  const statsMs = values['stats-interval'] ? parseDuration(values['stats-interval'], 'stats-interval') : 60_000;

  // Steady-state writes per second; above qps the heartbeats stretch (and leases may expire).
  const needed = (count * 1000) / heartbeatMs + (count * 1000) / statusMs;
  if (qps > 0 && needed > qps * 0.8)
    process.stderr.write(`hollow-nodes warning: ${count} nodes need about ${Math.ceil(needed)} writes/s for heartbeats; --qps ${qps} is too low\n`);

  const client = new Client({ kubeconfig, component: 'skiff-hollow-nodes', qps, burst });
  process.stdout.write(`hollow-nodes: registering ${count} nodes\n`);
  const hollow = await startHollowNodes({
    client,
    count,
    namePrefix: values['name-prefix'],
    cpu: values.cpu,
    memory: values.memory,
    pods: values.pods,
    ephemeralStorage: values['ephemeral-storage'],
    labels: values.labels ? parseLabels(values.labels) : undefined,
    taints: values.taints !== undefined ? parseTaints(values.taints) : undefined,
    zones: parseCount(values.zones, 'zones'),
    template: values.template ? loadNodeTemplate(values.template) : undefined,
    podCompleteAfterMs: values['pod-complete-after'] ? parseDuration(values['pod-complete-after'], 'pod-complete-after') : undefined,
    heartbeatIntervalMs: heartbeatMs,
    statusReportIntervalMs: statusMs,
    maxInFlight: parseCount(values['max-in-flight'], 'max-in-flight'),
    podWorkers: parseCount(values['pod-workers'], 'pod-workers'),
  });
  const s = hollow.stats;
  process.stdout.write(
    `hollow-nodes: ${count} nodes ready in ${(hollow.registrationMs / 1000).toFixed(1)}s (${s.nodesCreated} created, ${s.nodesAdopted} adopted)\n`,
  );
  const statsTimer = statsMs > 0 ? setInterval(() => process.stdout.write(`hollow-nodes: ${JSON.stringify(hollow.stats)}\n`), statsMs) : undefined;

  exitOnSignals(async (signal) => {
    clearInterval(statsTimer);
    process.stdout.write(`hollow-nodes: ${signal}, stopping\n`);
    await hollow.stop();
    client.close();
  });
}
