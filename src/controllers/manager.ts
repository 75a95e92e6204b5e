// The controller manager: builds the ControllerContext (shared informers, event recorders),
// runs the enabled controllers once their informers have synced, and — with leader election —
// only while holding the Lease kube-system/kube-controller-manager.
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { EventRecorder, LeaderElector, SharedInformerFactory, clientLog, type Client } from '../client/index.js';
import { CONTROLLER_REGISTRY, type ControllerRegistration } from './registry.js';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerContext, type ControllerOptions } from './types.js';

export const LEADER_ELECTION_LEASE = 'kube-controller-manager';

export interface ControllerManagerOptions {
  client: Client;
  /** Upstream --controllers: names, "*" (all enabled by default), "-name" (disable). Default ["*"]. */
  controllers?: string[];
  leaderElect: boolean;
  /** Leader election identity (default hostname_uuid). */
  identity: string;
  options?: Partial<ControllerOptions>;
  /** Workers per controller name (--concurrent-deployment-syncs, ...); default options.workers. */
  concurrentSyncs?: Record<string, number>;
  /** Leader election timings (tests shorten them). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ControllerManager {
  stop(): Promise<void>;
}

function normalize(name: string): string {
  return name.endsWith('-controller') ? name.slice(0, -'-controller'.length) : name;
}

/** Which registered controllers --controllers enables, in registry order. Throws on unknown names. */
export function enabledControllers(list: string[] = ['*'], registry: ControllerRegistration[] = CONTROLLER_REGISTRY): ControllerRegistration[] {
  const known = new Set(registry.map((r) => r.name));
  const on = new Set<string>();
  const off = new Set<string>();
  let star = false;
  for (const raw of list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (raw === '*') {
      star = true;
      continue;
    }
    const disable = raw.startsWith('-');
    const name = normalize(disable ? raw.slice(1) : raw);
    if (!known.has(name)) throw new Error(`"${raw}" is not in the list of known controllers`);
    (disable ? off : on).add(name);
  }
  return registry.filter((r) => on.has(r.name) || (!off.has(r.name) && star && r.enabledByDefault));
}

export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

export async function startControllerManager(opts: ControllerManagerOptions): Promise<ControllerManager> {
  const enabled = enabledControllers(opts.controllers);
  const options: ControllerOptions = { ...DEFAULT_CONTROLLER_OPTIONS, ...opts.options };
  const stopAll = new AbortController();
  setMaxListeners(0, stopAll.signal);

  /** Runs every enabled controller until signal aborts; resolves when all have stopped. */
  const runControllers = async (signal: AbortSignal): Promise<void> => {
    const informers = new SharedInformerFactory(opts.client);
    const recorders = new Map<string, EventRecorder>();
    const recorder = (name: string) => {
      let r = recorders.get(name);
      if (!r) {
        r = new EventRecorder({ client: opts.client, reportingController: name, reportingInstance: `${name}-${opts.identity}`.slice(0, 128) });
        recorders.set(name, r);
      }
      return r;
    };
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    signal.addEventListener('abort', () => markReady(), { once: true });
    const runs = enabled.map((reg) => {
      const controller = reg.create();
      const workers = opts.concurrentSyncs?.[reg.name] ?? options.workers;
      const ctx: ControllerContext = { client: opts.client, informers, recorder, signal, options: { ...options, workers } };
      return Promise.resolve()
        .then(() => controller.run(ctx, ready))
        .catch((e) => clientLog('error', `controller-manager: controller ${reg.name} failed: ${(e as Error)?.stack ?? e}`));
    });
    // Controllers request their informers synchronously in run(); start them all together.
    await new Promise((r) => setImmediate(r));
    informers.start();
    if (await informers.waitForCacheSync(signal)) {
      clientLog('info', `controller-manager: caches synced; running ${enabled.map((r) => r.name).join(', ')}`);
      markReady();
    }
    await Promise.all(runs);
    informers.stop();
    await Promise.all([...recorders.values()].map((r) => r.stop()));
  };

  let done: Promise<void>;
  if (!opts.leaderElect) {
    done = runControllers(stopAll.signal);
  } else {
    const elector = () =>
      new LeaderElector({
        client: opts.client,
        name: LEADER_ELECTION_LEASE,
        namespace: 'kube-system',
        identity: opts.identity,
        leaseDurationMs: opts.leaseDurationMs,
        renewDeadlineMs: opts.renewDeadlineMs,
        retryPeriodMs: opts.retryPeriodMs,
        callbacks: {
          onStartedLeading: (signal) => {
            leading = runControllers(signal);
          },
        },
      });
    let leading: Promise<void> | undefined;
    done = (async () => {
      // Upstream exits when leadership is lost; in-process we stop the controllers and campaign again.
      while (!stopAll.signal.aborted) {
        await elector().run(stopAll.signal);
        if (leading) await leading;
        leading = undefined;
        if (!stopAll.signal.aborted) clientLog('warning', 'controller-manager: leader election lost; campaigning again');
      }
    })();
  }
  return {
    async stop() {
      stopAll.abort();
      await done;
    },
  };
}
